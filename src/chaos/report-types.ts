// What a fault-lab run leaves behind for a person to read: the recorded operations, the fault
// windows the nemeses opened, and the checkers' verdicts. `report.ts` turns these into a history
// file and a standalone HTML report; this file only names the shapes.

/** A period during which one fault was in force, on the same clock as the operations. */
export interface FaultWindow {
  readonly name: string;
  readonly startMs: number;
  /** Null: the fault was still in force when the run ended. */
  readonly endMs: number | null;
  readonly detail: string;
}

/**
 * One client request as the fault lab saw it. Unlike `Operation` (src/check/history.ts) it keeps
 * definite failures and the context a person needs (workload, node, error), and its times are
 * milliseconds since the run started. `ok` has an output and a return time; `fail` has a return
 * time; `info` (indefinite) may have neither.
 */
export interface RecordedOperation {
  readonly id: number;
  readonly client: number;
  readonly workload: string;
  readonly key?: string;
  readonly input: unknown;
  readonly output?: unknown;
  readonly callMs: number;
  readonly returnMs?: number;
  readonly outcome: 'ok' | 'fail' | 'info';
  readonly node?: string;
  readonly error?: string;
}

/** One checker's finding for one workload. */
export interface CheckerVerdict {
  readonly workload: string;
  readonly valid: boolean | 'unknown';
  readonly summary: string;
  readonly explanation?: string;
  /** Ids of the operations that show the anomaly (for linearizability: the partition's). */
  readonly failingOperations?: readonly number[];
}

export interface RunSummary {
  /** ISO 8601 wall-clock time the run started. */
  readonly startedAt: string;
  readonly durationMs: number;
  /** Replays the run's choices of faults and operations. */
  readonly seed: number;
  readonly nemeses: readonly string[];
  readonly workloads: readonly string[];
  /** Why the run disabled a safety mechanism on purpose (a fault that may lose data), or null. */
  readonly unsafe: string | null;
  readonly verdict: 'valid' | 'INVALID' | 'unknown';
  readonly verdictLine: string;
  readonly checks: readonly CheckerVerdict[];
  readonly convergence: string;
}
