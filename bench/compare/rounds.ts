// Runs rows round by round, alternating which system goes first (round r: Flotilla then etcd on
// even r, etcd then Flotilla on odd r), so slow drift of the machine (page cache, other work,
// growing data) does not always favour the same side. Reports one progress line per measure.

import { type BenchCluster, SYSTEMS, type SystemName } from './clusters.js';
import type { LoadGenerator } from './loadgen-client.js';
import type { CompareOptions } from './options.js';
import type { Progress } from './progress.js';
import { measureRow, type RoundMeasure, roundFailed } from './runner.js';
import { type RowSummary, summarizeRow } from './summary.js';
import type { RowSpec } from './workloads.js';

export type Clusters = Readonly<Record<SystemName, BenchCluster>>;

const BYTES_PER_MIB = 1024 * 1024;

export function systemOrder(round: number): readonly SystemName[] {
  return round % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse();
}

function fixed(value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits);
}

export function describeMeasure(row: RowSpec, system: SystemName, measure: RoundMeasure): string {
  const head = `${row.id.padEnd(18)} ${system.padEnd(8)} r${measure.round + 1}`;
  if (roundFailed(measure))
    return `${head} FAILED (${measure.errors} errors): ${measure.firstError ?? 'no operation completed'}`;
  return [
    head,
    `${Math.round(measure.opsPerSecond).toLocaleString('en-US').padStart(8)} ${row.unit}/s`,
    `p50 ${fixed(measure.p50Ms, 2)} ms`,
    `p99 ${fixed(measure.p99Ms, 2)} ms`,
    `server CPU ${fixed(measure.serverCpuSecondsPer10kOps, 2)} s/10k`,
    `generator CPU ${fixed(measure.generatorCpuSecondsPer10kOps, 2)} s/10k`,
    `peak RSS ${(measure.peakRssBytesMax / BYTES_PER_MIB).toFixed(0)} MiB`,
    ...(measure.details.sendToLastEventP50Ms === undefined
      ? []
      : [`put sent to last event p50 ${fixed(measure.details.sendToLastEventP50Ms, 2)} ms`]),
  ].join('  ');
}

export async function runRows(
  rows: readonly RowSpec[],
  clusters: Clusters,
  generator: LoadGenerator,
  options: CompareOptions,
  progress: Progress,
): Promise<RowSummary[]> {
  const measures = new Map<string, Record<SystemName, RoundMeasure[]>>(
    rows.map((row) => [row.id, { flotilla: [], etcd: [] }]),
  );
  for (let round = 0; round < options.rounds; round++) {
    for (const row of rows) {
      for (const system of systemOrder(round)) {
        progress.status(`round ${round + 1}/${options.rounds}: ${row.id} on ${system}`);
        const measure = await measureRow(clusters[system], generator, row, options, round);
        measures.get(row.id)![system].push(measure);
        progress.line(describeMeasure(row, system, measure));
      }
    }
  }
  return rows.map((row) => summarizeRow(row, measures.get(row.id)!));
}
