// Pieces shared by the report's two charts: the time scale, its axis, and the shaded fault
// bands. Both charts put the run's time on x with the same scale, so a fault band sits over the
// same seconds in the timeline and in the latency plot.

import { escapeHtml } from './report-html.js';
import type { FaultWindow } from './report-types.js';

export const CHART_WIDTH_PX = 1200;
/** Room left of the plot for row labels and y-axis ticks. */
export const PLOT_LEFT_PX = 96;
const PLOT_RIGHT_MARGIN_PX = 16;
export const PLOT_WIDTH_PX = CHART_WIDTH_PX - PLOT_LEFT_PX - PLOT_RIGHT_MARGIN_PX;
/** Fault windows drawn; a longer list is cut and the cut is said under the chart. */
export const MAX_FAULT_BANDS = 500;
/** Lines of fault labels above the timeline; labels that still collide share the last line. */
const MAX_FAULT_LABEL_LANES = 6;
export const FAULT_LABEL_LANE_PX = 14;
/** An estimate, not a measurement: no JS, so the text cannot be measured. */
const LABEL_CHAR_WIDTH_PX = 6.5;
const TARGET_TIME_TICKS = 10;

const FAULT_COLORS = ['#7e57c2', '#1e88e5', '#d81b60', '#00897b', '#6d4c41', '#3949ab'];

/** The span of run time the charts show, in the operations' milliseconds. */
export interface TimeRange {
  readonly startMs: number;
  readonly endMs: number;
}

export function timeToX(range: TimeRange, timeMs: number): number {
  const clamped = Math.min(Math.max(timeMs, range.startMs), range.endMs);
  return PLOT_LEFT_PX + ((clamped - range.startMs) / (range.endMs - range.startMs)) * PLOT_WIDTH_PX;
}

/** Pixel coordinates rounded to 0.1 px: enough for a screen, and keeps big SVGs small. */
export function px(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}

/** Tick times at 1, 2 or 5 × 10^k ms, about TARGET_TIME_TICKS of them. */
export function timeTicks(range: TimeRange): number[] {
  const span = range.endMs - range.startMs;
  const rough = span / TARGET_TIME_TICKS;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((multiple) => multiple * power).find((candidate) => candidate >= rough)!;
  const ticks: number[] = [];
  for (let tick = Math.ceil(range.startMs / step) * step; tick <= range.endMs; tick += step) ticks.push(tick);
  return ticks;
}

/** Vertical grid lines from `top` to `bottom`, labelled in seconds below `bottom`. */
export function renderTimeAxis(range: TimeRange, top: number, bottom: number): string {
  const parts: string[] = [];
  for (const tick of timeTicks(range)) {
    const x = px(timeToX(range, tick));
    parts.push(`<line class="grid" x1="${x}" y1="${px(top)}" x2="${x}" y2="${px(bottom)}"/>`);
    const label = `${Number((tick / 1000).toFixed(3))} s`;
    parts.push(`<text class="tick" x="${x}" y="${px(bottom + 14)}" text-anchor="middle">${label}</text>`);
  }
  return parts.join('');
}

/** The fault windows that are drawn, in start order (at most MAX_FAULT_BANDS). */
export function drawnFaults(faults: readonly FaultWindow[]): FaultWindow[] {
  return [...faults].sort((a, b) => a.startMs - b.startMs).slice(0, MAX_FAULT_BANDS);
}

/** One color per fault name, stable across both charts (names sorted, palette reused). */
function faultColors(faults: readonly FaultWindow[]): Map<string, string> {
  const names = [...new Set(faults.map((fault) => fault.name))].sort();
  return new Map(names.map((name, index) => [name, FAULT_COLORS[index % FAULT_COLORS.length]!]));
}

/**
 * Assigns each fault label a line so labels do not overprint: greedy, first line whose previous
 * label ends left of this one's start. Returns the line per fault and the number of lines used.
 */
export function faultLabelLanes(
  range: TimeRange,
  faults: readonly FaultWindow[],
): { lanes: number[]; count: number } {
  const laneEndsPx: number[] = [];
  const lanes: number[] = [];
  for (const fault of faults) {
    const startPx = timeToX(range, fault.startMs);
    const widthPx = (fault.name.length + 1) * LABEL_CHAR_WIDTH_PX;
    let lane = laneEndsPx.findIndex((endPx) => endPx <= startPx);
    if (lane === -1)
      lane = laneEndsPx.length < MAX_FAULT_LABEL_LANES ? laneEndsPx.length : MAX_FAULT_LABEL_LANES - 1;
    laneEndsPx[lane] = Math.max(laneEndsPx[lane] ?? 0, startPx + widthPx);
    lanes.push(lane);
  }
  return { lanes, count: laneEndsPx.length };
}

/** Shaded bands from `top` to `bottom`, one per fault, each with its detail as a tooltip. */
export function renderFaultBands(
  range: TimeRange,
  faults: readonly FaultWindow[],
  top: number,
  bottom: number,
): string {
  const colors = faultColors(faults);
  const parts: string[] = [];
  for (const fault of faults) {
    const x1 = timeToX(range, fault.startMs);
    const x2 = timeToX(range, fault.endMs ?? range.endMs);
    const title = `${fault.name}: ${fault.detail} (${fault.startMs}–${fault.endMs ?? 'end'} ms)`;
    parts.push(
      `<rect class="fault" x="${px(x1)}" y="${px(top)}" width="${px(Math.max(x2 - x1, 1))}" ` +
        `height="${px(bottom - top)}" fill="${colors.get(fault.name)!}">` +
        `<title>${escapeHtml(title)}</title></rect>`,
    );
  }
  return parts.join('');
}

/** Fault names above the bands, on the lines `faultLabelLanes` chose. */
export function renderFaultLabels(
  range: TimeRange,
  faults: readonly FaultWindow[],
  lanes: readonly number[],
): string {
  const colors = faultColors(faults);
  return faults
    .map((fault, index) => {
      const x = px(timeToX(range, fault.startMs) + 2);
      const y = px((lanes[index]! + 1) * FAULT_LABEL_LANE_PX - 3);
      return (
        `<text class="fault-label" x="${x}" y="${y}" fill="${colors.get(fault.name)!}">` +
        `${escapeHtml(fault.name)}<title>${escapeHtml(fault.detail)}</title></text>`
      );
    })
    .join('');
}
