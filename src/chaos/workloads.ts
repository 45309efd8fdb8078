// Runs the chosen workloads: each client is bound to one member (as a real client keeps a
// connection) and runs one operation at a time; every operation is recorded with its call and
// return times and its outcome: ok, fail (definitely did not happen) or info (unknown).

import type { SeededRng } from '../raft/rng.js';
import { LabClient } from './client.js';
import type { LabCluster, LabMember } from './cluster.js';
import { RegisterWorkload } from './register.js';
import type { CheckerVerdict, RecordedOperation } from './report.js';
import { SetWorkload } from './set.js';
import type { Outcome, Workload } from './workload.js';

/** Every workload the lab knows, by name. Add new ones here. */
const FACTORIES: Record<string, () => Workload> = {
  register: () => new RegisterWorkload(),
  set: () => new SetWorkload(),
  'list-append': (await import('./list-append.js')).createListAppendWorkload,
  lock: (await import('./lock.js')).createLockWorkload,
  bank: (await import('./bank.js')).createBankWorkload,
  watch: (await import('./watch.js')).createWatchWorkload,
};

export const WORKLOADS: Record<string, string> = Object.fromEntries(
  Object.entries(FACTORIES).map(([name, make]) => [name, make().description]),
);

export type WorkloadName = string;

export function parseWorkloads(text: string): WorkloadName[] {
  return text.split(',').map((name) => {
    if (!Object.hasOwn(FACTORIES, name))
      throw new Error(`unknown workload '${name}' (known: ${Object.keys(FACTORIES).join(', ')})`);
    return name;
  });
}

/** Per-call deadline: past it the outcome is unknown. */
const CALL_DEADLINE_MS = 2_000;
/** A client's pause between operations, and after an error (so a dead member is not spun on). */
const THINK_MS = 5;
const BACKOFF_MS = 100;

export class WorkloadRunner {
  readonly recorded: RecordedOperation[] = [];
  private readonly workloads: Workload[];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private nextId = 0;

  constructor(
    private readonly cluster: LabCluster,
    names: readonly WorkloadName[],
    private readonly rng: SeededRng,
    private readonly startMs: number,
  ) {
    this.workloads = names.map((name) => FACTORIES[name]());
  }

  private now(): number {
    return Date.now() - this.startMs;
  }

  /** `clientsPerMember` clients of every workload on every member. */
  start(clientsPerMember: number): void {
    let client = 0;
    for (const workload of this.workloads) {
      for (const member of this.cluster.members) {
        for (let i = 0; i < clientsPerMember; i++)
          this.loops.push(this.clientLoop(client++, member, workload));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async clientLoop(client: number, member: LabMember, workload: Workload): Promise<void> {
    const connection = new LabClient(this.cluster.address(member), CALL_DEADLINE_MS);
    try {
      for (let n = 0; !this.stopped; n++) {
        const outcome = await workload.step({
          client,
          member,
          connection,
          n,
          now: () => this.now(),
          random: (bound) => this.rng.nextInt(bound),
          record: (fields) => this.record(client, member, workload.name, fields),
        });
        await new Promise((resolve) => setTimeout(resolve, outcome === 'ok' ? THINK_MS : BACKOFF_MS));
      }
    } finally {
      connection.close();
    }
  }

  private record(
    client: number,
    member: LabMember,
    workload: string,
    fields: {
      key?: string;
      input: unknown;
      output?: unknown;
      callMs: number;
      outcome: Outcome;
      error?: string;
    },
  ): RecordedOperation {
    const operation: RecordedOperation = {
      id: this.nextId++,
      client,
      workload,
      key: fields.key,
      input: fields.input,
      output: fields.outcome === 'ok' ? fields.output : undefined,
      callMs: fields.callMs,
      returnMs: fields.outcome === 'info' ? undefined : this.now(),
      outcome: fields.outcome,
      node: member.name,
      error: fields.error,
    };
    this.recorded.push(operation);
    return operation;
  }

  /** Runs every workload's checker against the converged cluster. */
  async check(connect: () => Promise<LabClient>): Promise<CheckerVerdict[]> {
    const verdicts: CheckerVerdict[] = [];
    for (const workload of this.workloads) {
      const operations = this.recorded.filter((o) => o.workload === workload.name);
      verdicts.push(await workload.check({ cluster: this.cluster, operations, connect }));
    }
    return verdicts;
  }
}
