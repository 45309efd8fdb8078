// Plain-text tables for benchmark output: a title line, a header, a rule, right-aligned cells.

export interface Column {
  readonly title: string;
  /** Left-align (labels); numbers are right-aligned. */
  readonly left?: boolean;
}

export function printTable(
  title: string,
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): void {
  const widths = columns.map((column, i) =>
    Math.max(column.title.length, ...rows.map((row) => row[i]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (columns[i]!.left === true ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join(' | ');
  console.log('');
  console.log(title);
  console.log(line(columns.map((column) => column.title)));
  console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
  for (const row of rows) {
    if (row.length !== columns.length)
      throw new Error(`table row has ${row.length} cells, want ${columns.length}`);
    console.log(line(row));
  }
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Rounds for the JSON summary: enough digits to compare runs, no float noise. */
export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
