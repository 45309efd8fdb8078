// The contract every fault-lab workload implements. A workload owns its keys (a prefix of its
// own), its client steps and its checker; the runner gives each client a member and a
// connection, records every operation, and backs off after errors.

import type { LabClient } from './client.js';
import type { LabCluster, LabMember } from './cluster.js';
import type { CheckerVerdict, RecordedOperation } from './report.js';

export type Outcome = 'ok' | 'fail' | 'info';

export interface StepContext {
  /** Global client number (unique across workloads). */
  readonly client: number;
  readonly member: LabMember;
  readonly connection: LabClient;
  /** This client's step counter. */
  readonly n: number;
  /** Milliseconds since the run started. */
  now(): number;
  /** A seeded random integer in [0, bound). */
  random(bound: number): number;
  /**
   * Records one operation: call time, outcome, output (for ok), the key it touched. Returns the
   * recorded operation (its id and return time).
   */
  record(fields: {
    key?: string;
    input: unknown;
    output?: unknown;
    callMs: number;
    outcome: Outcome;
    error?: string;
  }): RecordedOperation;
}

export interface CheckContext {
  readonly cluster: LabCluster;
  /** Every operation this workload recorded. */
  readonly operations: readonly RecordedOperation[];
  /** A connection to a member that is up after convergence (linearizable reads are safe). */
  connect(): Promise<LabClient>;
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** One operation of one client. Resolves with its outcome (the runner backs off on errors). */
  step(context: StepContext): Promise<Outcome>;
  /** After the cluster has converged: final reads and the verdict. */
  check(context: CheckContext): Promise<CheckerVerdict>;
}
