// A hand-written SVG chart of the main rows: for each row two horizontal bars, Flotilla and etcd
// throughput, on a logarithmic axis (the rows span from tens to tens of thousands of operations
// per second), with the Flotilla/etcd ratio written at the end of each group.

import type { RowSummary } from './summary.js';

const WIDTH_PX = 980;
const LABEL_WIDTH_PX = 330;
const RATIO_WIDTH_PX = 90;
const TOP_PX = 78;
const BOTTOM_PX = 56;
const GROUP_HEIGHT_PX = 44;
const BAR_HEIGHT_PX = 15;
const FONT = 'font-family="system-ui, sans-serif"';
const COLORS = { flotilla: '#2f6fb0', etcd: '#e0892a' } as const;

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

function compact(value: number): string {
  const trim = (text: string) => text.replace(/\.0$/, '');
  if (value >= 1e6) return `${trim((value / 1e6).toFixed(1))}M`;
  if (value >= 1e3) return `${trim((value / 1e3).toFixed(value >= 1e4 ? 0 : 1))}k`;
  return trim(value.toFixed(value >= 10 ? 0 : 1));
}

interface Axis {
  readonly minDecade: number;
  readonly maxDecade: number;
  readonly x: (value: number) => number;
}

function logAxis(values: readonly number[]): Axis {
  const positive = values.filter((value) => value > 0);
  const minDecade = Math.floor(Math.log10(Math.min(...positive, 10)));
  const maxDecade = Math.max(minDecade + 1, Math.ceil(Math.log10(Math.max(...positive, 10))));
  const plotWidth = WIDTH_PX - LABEL_WIDTH_PX - RATIO_WIDTH_PX;
  const x = (value: number) =>
    LABEL_WIDTH_PX +
    ((Math.log10(Math.max(value, 10 ** minDecade)) - minDecade) / (maxDecade - minDecade)) * plotWidth;
  return { minDecade, maxDecade, x };
}

function axisMarkup(axis: Axis, plotBottom: number): string[] {
  const parts: string[] = [];
  for (let decade = axis.minDecade; decade <= axis.maxDecade; decade++) {
    const x = axis.x(10 ** decade).toFixed(1);
    parts.push(`<line x1="${x}" y1="${TOP_PX - 6}" x2="${x}" y2="${plotBottom}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${x}" y="${plotBottom + 16}" ${FONT} font-size="12" text-anchor="middle">${compact(10 ** decade)}</text>`,
    );
  }
  const middle = (LABEL_WIDTH_PX + WIDTH_PX - RATIO_WIDTH_PX) / 2;
  parts.push(
    `<text x="${middle}" y="${plotBottom + 38}" ${FONT} font-size="13" text-anchor="middle">throughput, operations per second (log scale; watch: events/s, keepalive: keepalives/s)</text>`,
  );
  return parts;
}

function groupMarkup(row: RowSummary, index: number, axis: Axis): string[] {
  const top = TOP_PX + index * GROUP_HEIGHT_PX;
  const parts = [
    `<text x="${LABEL_WIDTH_PX - 10}" y="${top + BAR_HEIGHT_PX + 4}" ${FONT} font-size="12" text-anchor="end">${escapeXml(row.title)}</text>`,
  ];
  (['flotilla', 'etcd'] as const).forEach((system, barIndex) => {
    const summary = row.systems[system];
    const y = top + barIndex * (BAR_HEIGHT_PX + 2);
    const value = summary.median.opsPerSecond;
    if (summary.failed || value === null || value <= 0) {
      parts.push(
        `<text x="${LABEL_WIDTH_PX + 4}" y="${y + 12}" ${FONT} font-size="11" fill="#b00">${system} failed</text>`,
      );
      return;
    }
    const width = Math.max(1, axis.x(value) - LABEL_WIDTH_PX).toFixed(1);
    parts.push(
      `<rect x="${LABEL_WIDTH_PX}" y="${y}" width="${width}" height="${BAR_HEIGHT_PX}" fill="${COLORS[system]}"/>`,
    );
    parts.push(
      `<text x="${(axis.x(value) + 4).toFixed(1)}" y="${y + 12}" ${FONT} font-size="11">${compact(value)}</text>`,
    );
  });
  const ratio = row.ratios.opsPerSecond;
  parts.push(
    `<text x="${WIDTH_PX - 10}" y="${top + BAR_HEIGHT_PX + 4}" ${FONT} font-size="13" font-weight="bold" text-anchor="end">${ratio === null ? '–' : `${ratio.toFixed(2)}×`}</text>`,
  );
  return parts;
}

export function throughputChart(rows: readonly RowSummary[], etcdVersion: string): string {
  const plotBottom = TOP_PX + rows.length * GROUP_HEIGHT_PX;
  const height = plotBottom + BOTTOM_PX;
  const axis = logAxis(
    rows.flatMap((row) => [
      row.systems.flotilla.median.opsPerSecond ?? 0,
      row.systems.etcd.median.opsPerSecond ?? 0,
    ]),
  );
  const legendX = LABEL_WIDTH_PX;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH_PX}" height="${height}" viewBox="0 0 ${WIDTH_PX} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH_PX / 2}" y="24" ${FONT} font-size="16" font-weight="bold" text-anchor="middle">Flotilla vs ${escapeXml(etcdVersion.replace(/^etcd Version: /, 'etcd '))}: throughput per row (3 members each, same machine, same load generator)</text>`,
    `<rect x="${legendX}" y="40" width="14" height="14" fill="${COLORS.flotilla}"/>`,
    `<text x="${legendX + 20}" y="52" ${FONT} font-size="13">Flotilla</text>`,
    `<rect x="${legendX + 100}" y="40" width="14" height="14" fill="${COLORS.etcd}"/>`,
    `<text x="${legendX + 120}" y="52" ${FONT} font-size="13">etcd</text>`,
    `<text x="${WIDTH_PX - 10}" y="52" ${FONT} font-size="13" text-anchor="end">Flotilla / etcd</text>`,
    ...axisMarkup(axis, plotBottom),
    ...rows.flatMap((row, i) => groupMarkup(row, i, axis)),
    `<line x1="${LABEL_WIDTH_PX}" y1="${TOP_PX - 6}" x2="${LABEL_WIDTH_PX}" y2="${plotBottom}" stroke="#333"/>`,
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}
