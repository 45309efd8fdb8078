// The latency chart: for each successful operation, return − call against the time it returned,
// on a log scale (a healthy cluster answers in milliseconds, a partitioned one in seconds, and
// both must be readable on one chart). Fault bands are shaded as on the timeline.
//
// Bounded like the timeline: past MAX_LATENCY_POINTS successful operations, an evenly spaced
// sample is drawn, plus the MAX_LATENCY_OUTLIERS slowest, which are what a reader looks for.

import {
  CHART_WIDTH_PX,
  drawnFaults,
  PLOT_LEFT_PX,
  PLOT_WIDTH_PX,
  px,
  renderFaultBands,
  renderTimeAxis,
  type TimeRange,
  timeToX,
} from './report-svg.js';
import type { FaultWindow, RecordedOperation } from './report-types.js';

export const MAX_LATENCY_POINTS = 4000;
export const MAX_LATENCY_OUTLIERS = 200;
const PLOT_TOP_PX = 10;
const PLOT_HEIGHT_PX = 220;
const AXIS_HEIGHT_PX = 24;
/** Latencies below this are drawn at it: the log scale needs a floor, and 0.1 ms is a fast answer. */
const MIN_LATENCY_MS = 0.1;
const POINT_RADIUS_PX = 1.8;

interface Point {
  readonly timeMs: number;
  readonly latencyMs: number;
}

export function renderLatency(
  range: TimeRange,
  operations: readonly RecordedOperation[],
  faults: readonly FaultWindow[],
): string {
  const points = sampledPoints(operations);
  const plotBottom = PLOT_TOP_PX + PLOT_HEIGHT_PX;
  const height = plotBottom + AXIS_HEIGHT_PX;
  const maxLatencyMs = points.reduce((max, point) => Math.max(max, point.latencyMs), 10);
  const lowDecade = Math.floor(Math.log10(MIN_LATENCY_MS));
  const highDecade = Math.max(Math.ceil(Math.log10(maxLatencyMs)), lowDecade + 1);
  const latencyToY = (latencyMs: number): number => {
    const decade = Math.log10(Math.max(latencyMs, MIN_LATENCY_MS));
    return plotBottom - ((decade - lowDecade) / (highDecade - lowDecade)) * PLOT_HEIGHT_PX;
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${CHART_WIDTH_PX}" height="${height}" ` +
      `viewBox="0 0 ${CHART_WIDTH_PX} ${height}" role="img" aria-label="latency over time">`,
    renderFaultBands(range, drawnFaults(faults), PLOT_TOP_PX, plotBottom),
    renderTimeAxis(range, PLOT_TOP_PX, plotBottom),
  ];
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    const y = px(latencyToY(10 ** decade));
    parts.push(
      `<line class="grid" x1="${PLOT_LEFT_PX}" y1="${y}" x2="${PLOT_LEFT_PX + PLOT_WIDTH_PX}" y2="${y}"/>`,
    );
    parts.push(
      `<text class="tick" x="${PLOT_LEFT_PX - 6}" y="${px(latencyToY(10 ** decade) + 4)}" text-anchor="end">` +
        `${decadeLabel(decade)}</text>`,
    );
  }
  for (const point of points) {
    parts.push(
      `<circle class="point" cx="${px(timeToX(range, point.timeMs))}" cy="${px(latencyToY(point.latencyMs))}" ` +
        `r="${POINT_RADIUS_PX}"/>`,
    );
  }
  if (points.length === 0) {
    parts.push(
      `<text class="empty" x="${PLOT_LEFT_PX + PLOT_WIDTH_PX / 2}" y="${PLOT_TOP_PX + PLOT_HEIGHT_PX / 2}" ` +
        'text-anchor="middle">no successful operations</text>',
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Successful operations as points; an even sample plus the slowest once there are too many. */
function sampledPoints(operations: readonly RecordedOperation[]): Point[] {
  const all: Point[] = [];
  for (const operation of operations) {
    if (operation.outcome !== 'ok' || operation.returnMs === undefined) continue;
    all.push({ timeMs: operation.returnMs, latencyMs: operation.returnMs - operation.callMs });
  }
  if (all.length <= MAX_LATENCY_POINTS) return all;
  const stride = all.length / MAX_LATENCY_POINTS;
  const sample = new Set<Point>();
  for (let index = 0; index < MAX_LATENCY_POINTS; index++) sample.add(all[Math.floor(index * stride)]!);
  const slowest = [...all].sort((a, b) => b.latencyMs - a.latencyMs).slice(0, MAX_LATENCY_OUTLIERS);
  for (const point of slowest) sample.add(point);
  return [...sample];
}

/** "0.1 ms" … "100 ms", "1 s", "10 s": exact labels for the powers of ten on the y axis. */
function decadeLabel(decade: number): string {
  return decade < 3 ? `${Number((10 ** decade).toFixed(1))} ms` : `${10 ** (decade - 3)} s`;
}
