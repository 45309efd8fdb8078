// What `flotilla chaos` leaves in its output directory: `history.jsonl`, every operation as
// recorded (see report-history.ts), and `report.html`, one standalone page a person can open
// without a server or network: the verdict, the run's parameters, each checker's finding, the
// operations a failed check blamed, a timeline of every client's operations under the faults,
// and latency over time. Inline CSS and inline SVG only, no script: it must render the same in a
// CI artifact viewer years later.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHistory } from './report-history.js';
import { escapeHtml, formatExactMs, formatMs, formatValue } from './report-html.js';
import { renderLatency } from './report-latency.js';
import { REPORT_CSS } from './report-style.js';
import { drawnFaults, MAX_FAULT_BANDS, type TimeRange } from './report-svg.js';
import { renderTimeline } from './report-timeline.js';
import type { CheckerVerdict, FaultWindow, RecordedOperation, RunSummary } from './report-types.js';

export { HistoryFileError, readHistory, writeHistory } from './report-history.js';
export { MAX_LATENCY_OUTLIERS, MAX_LATENCY_POINTS } from './report-latency.js';
export { MAX_FAULT_BANDS } from './report-svg.js';
export { MAX_HIGHLIGHTED_BARS, MAX_TIMELINE_BARS_PER_ROW, MAX_TIMELINE_ROWS } from './report-timeline.js';
export type { CheckerVerdict, FaultWindow, RecordedOperation, RunSummary } from './report-types.js';

export const HISTORY_FILE_NAME = 'history.jsonl';
export const REPORT_FILE_NAME = 'report.html';
/** Rows of a failing sub-history listed per check; the history file has the rest. */
export const MAX_FAILING_ROWS = 500;

/** Writes the history and the report into `dir` (created if missing). */
export function writeReport(
  dir: string,
  summary: RunSummary,
  operations: readonly RecordedOperation[],
  faults: readonly FaultWindow[],
): { historyFile: string; reportFile: string } {
  mkdirSync(dir, { recursive: true });
  const historyFile = join(dir, HISTORY_FILE_NAME);
  const reportFile = join(dir, REPORT_FILE_NAME);
  writeHistory(historyFile, operations);
  writeFileSync(reportFile, renderReport(summary, operations, faults));
  return { historyFile, reportFile };
}

export function renderReport(
  summary: RunSummary,
  operations: readonly RecordedOperation[],
  faults: readonly FaultWindow[],
): string {
  const range = timeRange(summary, operations, faults);
  const failing = summary.checks
    .filter((check) => check.valid === false)
    .map((check) => ({ check, operations: failingOperations(check, operations) }));
  const highlighted = new Set(failing.flatMap((failure) => failure.operations));
  const verdictClass =
    summary.verdict === 'valid' ? 'valid' : summary.verdict === 'INVALID' ? 'invalid' : 'unknown';
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Flotilla chaos: ${escapeHtml(summary.verdict)} (seed ${summary.seed})</title>`,
    `<style>${REPORT_CSS}</style></head><body>`,
    `<header class="verdict ${verdictClass}"><div class="verdict-word">${escapeHtml(summary.verdict)}</div>`,
    `<div class="verdict-line">${escapeHtml(summary.verdictLine)}</div></header>`,
    summary.unsafe === null ? '' : `<p class="unsafe">Unsafe run: ${escapeHtml(summary.unsafe)}</p>`,
    renderParameters(summary, operations),
    renderChecks(summary.checks),
    ...failing.map((failure) => renderFailure(failure.check, failure.operations)),
    '<section><h2>Timeline</h2>',
    '<p class="legend"><span class="swatch ok"></span>ok <span class="swatch fail"></span>fail ',
    '<span class="swatch info"></span>info (indefinite: runs to the end) ',
    '<span class="swatch blamed"></span>blamed by a check <span class="swatch fault"></span>fault window</p>',
    `<div class="scroll">${renderTimeline(range, operations, faults, highlighted)}</div></section>`,
    '<section><h2>Latency of successful operations</h2>',
    `<div class="scroll">${renderLatency(range, operations, faults)}</div></section>`,
    renderFaultTable(faults),
    `<footer>Every operation is in ${HISTORY_FILE_NAME} beside this file.</footer>`,
    '</body></html>',
    '',
  ].join('\n');
}

/** From run start (or the earliest event, if earlier) to the latest event or the run's end. */
function timeRange(
  summary: RunSummary,
  operations: readonly RecordedOperation[],
  faults: readonly FaultWindow[],
): TimeRange {
  let startMs = 0;
  let endMs = summary.durationMs;
  for (const operation of operations) {
    startMs = Math.min(startMs, operation.callMs);
    endMs = Math.max(endMs, operation.returnMs ?? operation.callMs);
  }
  for (const fault of faults) {
    startMs = Math.min(startMs, fault.startMs);
    endMs = Math.max(endMs, fault.endMs ?? fault.startMs);
  }
  // A zero-length run still needs a non-zero scale.
  return { startMs, endMs: endMs > startMs ? endMs : startMs + 1 };
}

/**
 * The operations a check blamed. Ids are matched within the check's workload when the history
 * names that workload, since two workloads may number their operations independently.
 */
function failingOperations(
  check: CheckerVerdict,
  operations: readonly RecordedOperation[],
): RecordedOperation[] {
  const ids = new Set(check.failingOperations ?? []);
  if (ids.size === 0) return [];
  const ownWorkload = operations.some((operation) => operation.workload === check.workload);
  return operations
    .filter((operation) => ids.has(operation.id) && (!ownWorkload || operation.workload === check.workload))
    .sort((a, b) => a.callMs - b.callMs || a.id - b.id);
}

function renderParameters(summary: RunSummary, operations: readonly RecordedOperation[]): string {
  const counts = { ok: 0, fail: 0, info: 0 };
  const clients = new Set<number>();
  for (const operation of operations) {
    counts[operation.outcome]++;
    clients.add(operation.client);
  }
  const rows: [string, string][] = [
    ['started', summary.startedAt],
    ['duration', formatMs(summary.durationMs)],
    ['seed', String(summary.seed)],
    ['nemeses', summary.nemeses.length === 0 ? 'none' : summary.nemeses.join(', ')],
    ['workloads', summary.workloads.join(', ')],
    [
      'operations',
      `${operations.length} from ${clients.size} clients: ${counts.ok} ok, ${counts.fail} fail, ${counts.info} info`,
    ],
    ['convergence', summary.convergence],
  ];
  const body = rows.map(([name, value]) => `<tr><th>${name}</th><td>${escapeHtml(value)}</td></tr>`).join('');
  return `<section><h2>Run</h2><table class="params">${body}</table></section>`;
}

function renderChecks(checks: readonly CheckerVerdict[]): string {
  const body = checks
    .map((check) => {
      const [badgeClass, badge] =
        check.valid === true
          ? ['valid', 'valid']
          : check.valid === false
            ? ['invalid', 'INVALID']
            : ['unknown', 'unknown'];
      return (
        `<tr><td>${escapeHtml(check.workload)}</td><td><span class="badge ${badgeClass}">${badge}</span></td>` +
        `<td>${escapeHtml(check.summary)}</td></tr>`
      );
    })
    .join('');
  return (
    '<section><h2>Checks</h2><table class="checks"><thead><tr><th>workload</th><th>result</th>' +
    `<th>summary</th></tr></thead><tbody>${body}</tbody></table></section>`
  );
}

function renderFailure(check: CheckerVerdict, operations: readonly RecordedOperation[]): string {
  const shown = operations.slice(0, MAX_FAILING_ROWS);
  const rows = shown
    .map((operation) => {
      const cells = [
        String(operation.id),
        String(operation.client),
        operation.key === undefined ? '' : formatValue(operation.key),
        formatValue(operation.input),
        formatValue(operation.output),
        formatExactMs(operation.callMs),
        operation.returnMs === undefined ? '—' : formatExactMs(operation.returnMs),
        operation.outcome,
        operation.node ?? '',
        operation.error ?? '',
      ];
      return `<tr class="${operation.outcome}">${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`;
    })
    .join('');
  const cut =
    operations.length > shown.length
      ? `<p class="note">${operations.length - shown.length} more operations in ${HISTORY_FILE_NAME}.</p>`
      : '';
  const missing =
    (check.failingOperations?.length ?? 0) > operations.length
      ? `<p class="note">${(check.failingOperations?.length ?? 0) - operations.length} blamed ids are not in the history.</p>`
      : '';
  return (
    `<section class="failure"><h2>${escapeHtml(check.workload)}: failing sub-history</h2>` +
    `<p>${escapeHtml(check.summary)}</p>` +
    (check.explanation === undefined
      ? ''
      : `<pre class="explanation">${escapeHtml(check.explanation)}</pre>`) +
    '<table class="operations"><thead><tr><th>id</th><th>client</th><th>key</th><th>input</th><th>output</th>' +
    '<th>call</th><th>return</th><th>outcome</th><th>node</th><th>error</th></tr></thead>' +
    `<tbody>${rows}</tbody></table>${cut}${missing}</section>`
  );
}

function renderFaultTable(faults: readonly FaultWindow[]): string {
  if (faults.length === 0) return '<section><h2>Faults</h2><p>No faults were injected.</p></section>';
  const rows = drawnFaults(faults)
    .map(
      (fault) =>
        `<tr><td>${escapeHtml(fault.name)}</td><td>${formatMs(fault.startMs)}</td>` +
        `<td>${fault.endMs === null ? 'until the end' : formatMs(fault.endMs)}</td>` +
        `<td>${escapeHtml(fault.detail)}</td></tr>`,
    )
    .join('');
  const cut =
    faults.length > MAX_FAULT_BANDS
      ? `<p class="note">${faults.length - MAX_FAULT_BANDS} more not shown.</p>`
      : '';
  return (
    '<section><h2>Faults</h2><table class="faults"><thead><tr><th>fault</th><th>start</th><th>end</th>' +
    `<th>detail</th></tr></thead><tbody>${rows}</tbody></table>${cut}</section>`
  );
}
