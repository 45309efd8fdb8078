// Measures one row on one cluster: asks who leads, starts the RSS sampler, runs the generator job,
// and reads every server's CPU time (and the generator's) at the edges of the measured window,
// as the generator reports them. A row that throws is recorded as failed, not fatal: the other
// rows still run and the report shows what broke.

import type { BenchCluster } from './clusters.js';
import type { LoadGenerator } from './loadgen-client.js';
import type { JobResult } from './loadgen-jobs.js';
import type { CompareOptions } from './options.js';
import { cpuSeconds, RssSampler } from './proc-stats.js';
import type { RowSpec } from './workloads.js';

/** Room for setup (connections, leases, watchers), draining and lease revocation around the window. */
const JOB_OVERHEAD_BOUND_MS = 180_000;
const OPS_PER_CPU_FIGURE = 10_000;

export interface RoundMeasure {
  readonly round: number;
  readonly leader: string;
  readonly ops: number;
  readonly opsPerSecond: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly windowSeconds: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** Summed over the three server processes. */
  readonly serverCpuSeconds: number;
  readonly serverCpuSecondsPer10kOps: number | null;
  readonly generatorCpuSeconds: number;
  readonly generatorCpuSecondsPer10kOps: number | null;
  /** Peak VmRSS of each member during the row, in member order. */
  readonly peakRssBytesPerNode: readonly number[];
  readonly peakRssBytesMax: number;
  readonly details: Readonly<Record<string, number>>;
}

interface CpuWindow {
  before: number[] | null;
  after: number[] | null;
  /** Why CPU could not be read (a process gone mid-row). */
  error: string | null;
}

function perTenThousand(cpuSecondsUsed: number, ops: number): number | null {
  return ops > 0 ? (cpuSecondsUsed * OPS_PER_CPU_FIGURE) / ops : null;
}

function failedMeasure(round: number, leader: string, message: string, peaks: number[]): RoundMeasure {
  return {
    round,
    leader,
    ops: 0,
    opsPerSecond: 0,
    errors: 1,
    firstError: message,
    windowSeconds: 0,
    p50Ms: null,
    p99Ms: null,
    maxMs: null,
    serverCpuSeconds: 0,
    serverCpuSecondsPer10kOps: null,
    generatorCpuSeconds: 0,
    generatorCpuSecondsPer10kOps: null,
    peakRssBytesPerNode: peaks,
    peakRssBytesMax: Math.max(0, ...peaks),
    details: {},
  };
}

function toMeasure(
  round: number,
  leader: string,
  result: JobResult,
  cpu: CpuWindow,
  peaks: number[],
): RoundMeasure {
  if (cpu.before === null || cpu.after === null) {
    const why = result.firstError ?? cpu.error ?? 'the generator reported no measured window';
    return failedMeasure(round, leader, why, peaks);
  }
  const used = cpu.after.map((after, i) => after - cpu.before![i]!);
  const generatorCpuSeconds = used.pop()!;
  const serverCpuSeconds = used.reduce((sum, seconds) => sum + seconds, 0);
  return {
    round,
    leader,
    ops: result.ops,
    opsPerSecond: result.windowSeconds > 0 ? result.ops / result.windowSeconds : 0,
    errors: result.errors,
    firstError: result.firstError,
    windowSeconds: result.windowSeconds,
    p50Ms: result.latency?.p50Ms ?? null,
    p99Ms: result.latency?.p99Ms ?? null,
    maxMs: result.latency?.maxMs ?? null,
    serverCpuSeconds,
    serverCpuSecondsPer10kOps: perTenThousand(serverCpuSeconds, result.ops),
    generatorCpuSeconds,
    generatorCpuSecondsPer10kOps: perTenThousand(generatorCpuSeconds, result.ops),
    peakRssBytesPerNode: peaks,
    peakRssBytesMax: Math.max(0, ...peaks),
    details: result.details,
  };
}

export async function measureRow(
  cluster: BenchCluster,
  generator: LoadGenerator,
  row: RowSpec,
  options: CompareOptions,
  round: number,
): Promise<RoundMeasure> {
  const members = await cluster.members();
  const leader = members.find((member) => member.leader)!;
  const job = row.job({ leader: leader.address, members: members.map((member) => member.address), options });
  const generatorPid = await generator.pid();
  const serverPids = members.map((member) => member.pid);
  const pids = [...serverPids, generatorPid];
  const sampler = new RssSampler(serverPids);
  const cpu: CpuWindow = { before: null, after: null, error: null };
  const readCpu = (): number[] | null => {
    try {
      return pids.map(cpuSeconds);
    } catch (error) {
      cpu.error = `cannot read CPU time: ${(error as Error).message}`;
      return null;
    }
  };
  let result: JobResult;
  try {
    result = await generator.run(job, options.warmupMs + options.measureMs + JOB_OVERHEAD_BOUND_MS, {
      onWindowStart: () => {
        cpu.before = readCpu();
      },
      onWindowEnd: () => {
        cpu.after = readCpu();
      },
    });
  } catch (error) {
    return failedMeasure(round, leader.name, (error as Error).message, sampler.stop());
  }
  const peaks = sampler.stop();
  const death = cluster.deathReason();
  if (death !== null) return failedMeasure(round, leader.name, death, peaks);
  return toMeasure(round, leader.name, result, cpu, peaks);
}

/** A round counts as failed when any call failed or nothing completed. */
export function roundFailed(measure: RoundMeasure): boolean {
  return measure.errors > 0 || measure.ops === 0;
}
