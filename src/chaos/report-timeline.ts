// The timeline chart: one row per client, each operation a bar from its call to its return, fault
// windows shaded behind. Indefinite operations run to the end of the chart, hatched: the client
// never learned whether or when they took effect. Operations a checker blamed get a red outline.
//
// A long run has far more operations than a row has pixels, so a row with more than
// MAX_TIMELINE_BARS_PER_ROW operations is drawn merged: definite operations grouped into equal
// slices of time (one bar per slice, coloured by its majority outcome) and all indefinite ones
// as a single hatched band from the first of them. The SVG stays a few hundred kB whatever the
// history's length; the history file keeps every operation.

import { escapeHtml, formatExactMs, formatMs, formatValue } from './report-html.js';
import {
  CHART_WIDTH_PX,
  drawnFaults,
  FAULT_LABEL_LANE_PX,
  faultLabelLanes,
  PLOT_LEFT_PX,
  PLOT_WIDTH_PX,
  px,
  renderFaultBands,
  renderFaultLabels,
  renderTimeAxis,
  type TimeRange,
  timeToX,
} from './report-svg.js';
import type { FaultWindow, RecordedOperation } from './report-types.js';

/** Bars drawn per row before the row is merged into time slices. */
export const MAX_TIMELINE_BARS_PER_ROW = 300;
/** Rows drawn; clients past the first MAX_TIMELINE_ROWS - 1 share the last row. */
export const MAX_TIMELINE_ROWS = 100;
/** Blamed operations outlined individually, over whatever merging hid them. */
export const MAX_HIGHLIGHTED_BARS = 200;
const ROW_HEIGHT_PX = 16;
const BAR_HEIGHT_PX = 10;
const AXIS_HEIGHT_PX = 24;
const MIN_BAR_WIDTH_PX = 1;
/** Characters of error text in a bar's tooltip. */
const MAX_ERROR_DISPLAY_CHARS = 200;

interface TimelineRow {
  readonly label: string;
  readonly operations: RecordedOperation[];
}

export function renderTimeline(
  range: TimeRange,
  operations: readonly RecordedOperation[],
  faults: readonly FaultWindow[],
  highlighted: ReadonlySet<RecordedOperation>,
): string {
  const rows = timelineRows(operations);
  const bands = drawnFaults(faults);
  const labels = faultLabelLanes(range, bands);
  const plotTop = labels.count * FAULT_LABEL_LANE_PX + 4;
  const plotBottom = plotTop + rows.length * ROW_HEIGHT_PX;
  const height = plotBottom + AXIS_HEIGHT_PX;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${CHART_WIDTH_PX}" height="${height}" ` +
      `viewBox="0 0 ${CHART_WIDTH_PX} ${height}" role="img" aria-label="operation timeline">`,
    '<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" ' +
      'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbefcc"/>' +
      '<line x1="0" y1="0" x2="0" y2="6" stroke="#e0a100" stroke-width="2"/></pattern></defs>',
  ];
  rows.forEach((row, index) => {
    const y = plotTop + index * ROW_HEIGHT_PX;
    if (index % 2 === 1) {
      parts.push(
        `<rect class="stripe" x="${PLOT_LEFT_PX}" y="${y}" width="${PLOT_WIDTH_PX}" height="${ROW_HEIGHT_PX}"/>`,
      );
    }
    const labelY = y + ROW_HEIGHT_PX / 2 + 4;
    parts.push(
      `<text class="row-label" x="${PLOT_LEFT_PX - 6}" y="${labelY}" text-anchor="end">${row.label}</text>`,
    );
  });
  parts.push(renderFaultBands(range, bands, plotTop, plotBottom));
  parts.push(renderFaultLabels(range, bands, labels.lanes));
  parts.push(renderTimeAxis(range, plotTop, plotBottom));
  let highlightBudget = MAX_HIGHLIGHTED_BARS;
  rows.forEach((row, index) => {
    const barY = plotTop + index * ROW_HEIGHT_PX + (ROW_HEIGHT_PX - BAR_HEIGHT_PX) / 2;
    parts.push(renderRow(range, row.operations, barY));
    for (const operation of row.operations) {
      if (highlightBudget === 0 || !highlighted.has(operation)) continue;
      parts.push(renderBar(range, operation, barY, 'blamed'));
      highlightBudget--;
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

/** One row per client in id order; past MAX_TIMELINE_ROWS, the remaining clients share one row. */
function timelineRows(operations: readonly RecordedOperation[]): TimelineRow[] {
  const byClient = new Map<number, RecordedOperation[]>();
  for (const operation of operations) {
    const list = byClient.get(operation.client);
    if (list === undefined) byClient.set(operation.client, [operation]);
    else list.push(operation);
  }
  const clients = [...byClient.keys()].sort((a, b) => a - b);
  const ownRows = clients.length <= MAX_TIMELINE_ROWS ? clients.length : MAX_TIMELINE_ROWS - 1;
  const rows: TimelineRow[] = clients
    .slice(0, ownRows)
    .map((client) => ({ label: `client ${client}`, operations: byClient.get(client)! }));
  if (ownRows < clients.length) {
    const rest = clients.slice(ownRows).flatMap((client) => byClient.get(client)!);
    rows.push({ label: `+${clients.length - ownRows} clients`, operations: rest });
  }
  for (const row of rows) row.operations.sort((a, b) => a.callMs - b.callMs || a.id - b.id);
  return rows;
}

function renderRow(range: TimeRange, operations: readonly RecordedOperation[], barY: number): string {
  const indefinite = operations.filter((operation) => operation.outcome === 'info');
  const definite = operations.filter((operation) => operation.outcome !== 'info');
  if (operations.length <= MAX_TIMELINE_BARS_PER_ROW) {
    // Indefinite bars first, so the definite ones that follow them in the row stay visible.
    return [...indefinite, ...definite].map((operation) => renderBar(range, operation, barY, null)).join('');
  }
  const parts: string[] = [];
  if (indefinite.length > 0) {
    const firstCallMs = indefinite[0]!.callMs;
    const x1 = timeToX(range, firstCallMs);
    const title = `${indefinite.length} indefinite operations, the first called at ${formatMs(firstCallMs)}`;
    parts.push(
      `<rect class="bar info indefinite" x="${px(x1)}" y="${px(barY)}" ` +
        `width="${px(Math.max(timeToX(range, range.endMs) - x1, MIN_BAR_WIDTH_PX))}" ` +
        `height="${BAR_HEIGHT_PX}"><title>${escapeHtml(title)}</title></rect>`,
    );
  }
  // One slot is the indefinite band's; the rest are slices of time.
  parts.push(renderMergedSlices(range, definite, barY, MAX_TIMELINE_BARS_PER_ROW - 1));
  return parts.join('');
}

interface Slice {
  startMs: number;
  endMs: number;
  ok: number;
  fail: number;
}

function renderMergedSlices(
  range: TimeRange,
  operations: readonly RecordedOperation[],
  barY: number,
  sliceCount: number,
): string {
  const spanMs = range.endMs - range.startMs;
  const slices = new Map<number, Slice>();
  for (const operation of operations) {
    const index = Math.min(
      Math.floor(((operation.callMs - range.startMs) / spanMs) * sliceCount),
      sliceCount - 1,
    );
    const endMs = operation.returnMs ?? operation.callMs;
    const slice = slices.get(index);
    if (slice === undefined) {
      slices.set(index, {
        startMs: operation.callMs,
        endMs,
        ok: operation.outcome === 'ok' ? 1 : 0,
        fail: operation.outcome === 'ok' ? 0 : 1,
      });
      continue;
    }
    slice.startMs = Math.min(slice.startMs, operation.callMs);
    slice.endMs = Math.max(slice.endMs, endMs);
    if (operation.outcome === 'ok') slice.ok++;
    else slice.fail++;
  }
  const parts: string[] = [];
  for (const slice of slices.values()) {
    const x1 = timeToX(range, slice.startMs);
    const width = Math.max(timeToX(range, slice.endMs) - x1, MIN_BAR_WIDTH_PX);
    const title =
      `${slice.ok + slice.fail} operations merged (${slice.ok} ok, ${slice.fail} fail), ` +
      `${formatMs(slice.startMs)} to ${formatMs(slice.endMs)}`;
    parts.push(
      `<rect class="bar ${slice.ok >= slice.fail ? 'ok' : 'fail'}" x="${px(x1)}" y="${px(barY)}" ` +
        `width="${px(width)}" height="${BAR_HEIGHT_PX}"><title>${title}</title></rect>`,
    );
  }
  return parts.join('');
}

function renderBar(
  range: TimeRange,
  operation: RecordedOperation,
  barY: number,
  extraClass: string | null,
): string {
  const indefinite = operation.outcome === 'info';
  const endMs = indefinite ? range.endMs : (operation.returnMs ?? operation.callMs);
  const x1 = timeToX(range, operation.callMs);
  const width = Math.max(timeToX(range, endMs) - x1, MIN_BAR_WIDTH_PX);
  const classes = ['bar', operation.outcome];
  if (indefinite) classes.push('indefinite');
  if (extraClass !== null) classes.push(extraClass);
  return (
    `<rect class="${classes.join(' ')}" x="${px(x1)}" y="${px(barY)}" width="${px(width)}" ` +
    `height="${BAR_HEIGHT_PX}"><title>${escapeHtml(describeOperation(operation))}</title></rect>`
  );
}

/** The tooltip: everything recorded about one operation, on one or two lines. */
export function describeOperation(operation: RecordedOperation): string {
  const latency =
    operation.returnMs === undefined ? 'no return' : formatMs(operation.returnMs - operation.callMs);
  const key = operation.key === undefined ? '' : ` key ${formatValue(operation.key)}`;
  const lines = [
    `#${operation.id} client ${operation.client} ${operation.workload}${key}: ${operation.outcome}, ` +
      `called at ${formatExactMs(operation.callMs)}, ${latency}${operation.node === undefined ? '' : ` via ${operation.node}`}`,
    `${formatValue(operation.input)} → ${formatValue(operation.output)}`,
  ];
  if (operation.error !== undefined)
    lines.push(`error: ${operation.error.slice(0, MAX_ERROR_DISPLAY_CHARS)}`);
  return lines.join('\n');
}
