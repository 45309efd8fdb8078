// From per-round measures to what the report shows: the median of every figure over the rounds
// (each figure on its own), whether the row failed on either system, and Flotilla/etcd ratios.

import type { SystemName } from './clusters.js';
import { type RoundMeasure, roundFailed } from './runner.js';
import type { RowSpec } from './workloads.js';

export interface MedianFigures {
  readonly opsPerSecond: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly serverCpuSecondsPer10kOps: number | null;
  readonly generatorCpuSecondsPer10kOps: number | null;
  readonly peakRssBytesMax: number | null;
}

export interface SystemSummary {
  readonly failed: boolean;
  readonly firstError: string | null;
  readonly median: MedianFigures;
  readonly rounds: readonly RoundMeasure[];
}

export interface RowRatios {
  readonly opsPerSecond: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly serverCpuSecondsPer10kOps: number | null;
  readonly peakRssBytesMax: number | null;
}

export interface RowSummary {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly systems: Readonly<Record<SystemName, SystemSummary>>;
  /** Flotilla divided by etcd, from the medians; null when either side has no figure. */
  readonly ratios: RowRatios;
}

export function median(values: readonly (number | null)[]): number | null {
  const present = values.filter((value): value is number => value !== null && Number.isFinite(value));
  if (present.length === 0) return null;
  const sorted = [...present].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function ratio(flotilla: number | null, etcd: number | null): number | null {
  if (flotilla === null || etcd === null || etcd === 0) return null;
  return flotilla / etcd;
}

export function summarizeSystem(rounds: readonly RoundMeasure[]): SystemSummary {
  const failedRound = rounds.find(roundFailed);
  const ok = rounds.filter((round) => !roundFailed(round));
  const pick = (figure: (round: RoundMeasure) => number | null) => median(ok.map(figure));
  return {
    failed: rounds.length === 0 || failedRound !== undefined,
    firstError: failedRound === undefined ? null : (failedRound.firstError ?? 'no operation completed'),
    median: {
      opsPerSecond: pick((round) => round.opsPerSecond),
      p50Ms: pick((round) => round.p50Ms),
      p99Ms: pick((round) => round.p99Ms),
      maxMs: pick((round) => round.maxMs),
      serverCpuSecondsPer10kOps: pick((round) => round.serverCpuSecondsPer10kOps),
      generatorCpuSecondsPer10kOps: pick((round) => round.generatorCpuSecondsPer10kOps),
      peakRssBytesMax: pick((round) => round.peakRssBytesMax),
    },
    rounds,
  };
}

export function summarizeRow(
  row: RowSpec,
  measures: Readonly<Record<SystemName, readonly RoundMeasure[]>>,
): RowSummary {
  const flotilla = summarizeSystem(measures.flotilla);
  const etcd = summarizeSystem(measures.etcd);
  const both = (figure: keyof MedianFigures) => ratio(flotilla.median[figure], etcd.median[figure]);
  return {
    id: row.id,
    title: row.title,
    unit: row.unit,
    systems: { flotilla, etcd },
    ratios: {
      opsPerSecond: both('opsPerSecond'),
      p50Ms: both('p50Ms'),
      p99Ms: both('p99Ms'),
      serverCpuSecondsPer10kOps: both('serverCpuSecondsPer10kOps'),
      peakRssBytesMax: both('peakRssBytesMax'),
    },
  };
}

export function rowFailed(row: RowSummary): boolean {
  return row.systems.flotilla.failed || row.systems.etcd.failed;
}
