// What one generator run saw: completions and their latencies inside the measured window, and
// every error at any time (warm-up and drain included: a row with any error is a failed row).
// Also the window itself, which the harness is told about so it can read server CPU at its edges.

import type { JobResult, LatencySummary } from './loadgen-jobs.js';

const NS_PER_MS = 1e6;
const MS_PER_SECOND = 1_000;
const P50 = 0.5;
const P99 = 0.99;

export class Recorder {
  recording = false;
  ops = 0;
  errors = 0;
  firstError: string | null = null;
  private readonly latenciesMs: number[] = [];
  private windowStartNs = 0n;
  private windowEndNs = 0n;

  constructor(private readonly notify: (phase: 'start' | 'end') => void) {}

  begin(): void {
    this.windowStartNs = process.hrtime.bigint();
    this.recording = true;
    this.notify('start');
  }

  end(): void {
    this.recording = false;
    this.windowEndNs = process.hrtime.bigint();
    this.notify('end');
  }

  /** One completed operation (or `count` of them, e.g. events) with one latency sample. */
  success(startedNs: bigint, endedNs: bigint, count = 1): void {
    if (!this.recording) return;
    this.ops += count;
    this.latenciesMs.push(Number(endedNs - startedNs) / NS_PER_MS);
  }

  /** Counts operations without a latency sample (the watch row's individual events). */
  count(ops: number): void {
    if (this.recording) this.ops += ops;
  }

  /** A latency sample without counting an operation. */
  sample(latencyMs: number): void {
    if (this.recording) this.latenciesMs.push(latencyMs);
  }

  error(message: string): void {
    this.errors++;
    this.firstError ??= message;
  }

  result(details: Record<string, number> = {}): JobResult {
    const windowSeconds = Number(this.windowEndNs - this.windowStartNs) / NS_PER_MS / MS_PER_SECOND;
    return {
      ops: this.ops,
      errors: this.errors,
      firstError: this.firstError,
      windowSeconds,
      latency: summarize(this.latenciesMs),
      details,
    };
  }
}

/** Nearest-rank percentiles over every sample (a few hundred thousand at most: sorting is fine). */
export function summarize(latenciesMs: readonly number[]): LatencySummary | null {
  if (latenciesMs.length === 0) return null;
  const sorted = Float64Array.from(latenciesMs).sort();
  const rank = (quantile: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)]!;
  return { samples: sorted.length, p50Ms: rank(P50), p99Ms: rank(P99), maxMs: sorted[sorted.length - 1]! };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Warm-up, then the measured window; `stop` ends the load, whose drain is awaited by the caller. */
export async function runWindow(recorder: Recorder, warmupMs: number, measureMs: number, stop: () => void) {
  await sleep(warmupMs);
  recorder.begin();
  await sleep(measureMs);
  recorder.end();
  stop();
}
