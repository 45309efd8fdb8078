// Client workloads through the real gRPC API. Each client is bound to one member (as a real
// client keeps a connection) and runs one operation at a time; every operation is recorded with
// its call and return times and its outcome: ok, fail (definitely did not happen) or info
// (unknown: it may have happened).

import type { Operation } from '../check/history.js';
import { type KvInput, type RegisterOutput, WRITE_OK } from '../check/models.js';
import type { SeededRng } from '../raft/rng.js';
import { type CallResult, LabClient, type ProtoObject } from './client.js';
import type { LabCluster, LabMember } from './cluster.js';
import type { RecordedOperation } from './report.js';

export const WORKLOADS = {
  register: 'per-key registers: read, write and compare-and-set (Txn), checked for linearizability',
  set: 'unique adds, then a final read: nothing acknowledged may be lost',
} as const;

export type WorkloadName = keyof typeof WORKLOADS;

export function parseWorkloads(text: string): WorkloadName[] {
  return text.split(',').map((name) => {
    if (!Object.hasOwn(WORKLOADS, name))
      throw new Error(`unknown workload '${name}' (known: ${Object.keys(WORKLOADS).join(', ')})`);
    return name as WorkloadName;
  });
}

/** Per-call deadline: past it the outcome is unknown. */
const CALL_DEADLINE_MS = 2_000;
/** Registers in use at once; keys rotate so each key's history stays small enough to check. */
const REGISTER_KEYS = 8;
const KEY_GENERATION_MS = 2_000;
/** A client's pause between operations, and after an error (so a dead member is not spun on). */
const THINK_MS = 5;
const BACKOFF_MS = 100;

const text = (value: unknown): string | null =>
  value instanceof Uint8Array
    ? Buffer.from(value).toString()
    : value === undefined || value === null
      ? null
      : String(value);

export class WorkloadRunner {
  readonly recorded: RecordedOperation[] = [];
  /** The register history in the checker's form. */
  readonly registerHistory: Operation<KvInput, RegisterOutput>[] = [];
  readonly setAdds = new Map<string, 'ok' | 'fail' | 'info'>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  private nextId = 0;

  constructor(
    private readonly cluster: LabCluster,
    private readonly workloads: readonly WorkloadName[],
    private readonly rng: SeededRng,
    private readonly startMs: number,
  ) {}

  private now(): number {
    return Date.now() - this.startMs;
  }

  start(clientsPerMember: number): void {
    let client = 0;
    for (const member of this.cluster.members) {
      for (let i = 0; i < clientsPerMember; i++) {
        const workload = this.workloads[client % this.workloads.length];
        this.loops.push(this.clientLoop(client++, member, workload));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async clientLoop(client: number, member: LabMember, workload: WorkloadName): Promise<void> {
    const connection = new LabClient(this.cluster.address(member), CALL_DEADLINE_MS);
    try {
      for (let n = 0; !this.stopped; n++) {
        const outcome =
          workload === 'register'
            ? await this.registerOp(connection, client, member, n)
            : await this.setAdd(connection, client, member, n);
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
    key: string,
    input: unknown,
    callMs: number,
    result: CallResult,
    output: unknown,
  ): RecordedOperation {
    const operation: RecordedOperation = {
      id: this.nextId++,
      client,
      workload,
      key,
      input,
      output: result.kind === 'ok' ? output : undefined,
      callMs,
      returnMs: result.kind === 'info' ? undefined : this.now(),
      outcome: result.kind,
      node: member.name,
      error: result.kind === 'ok' ? undefined : result.error,
    };
    this.recorded.push(operation);
    return operation;
  }

  private async registerOp(
    connection: LabClient,
    client: number,
    member: LabMember,
    n: number,
  ): Promise<CallResult['kind']> {
    const generation = Math.floor(this.now() / KEY_GENERATION_MS);
    const key = `r/${generation}/${this.rng.nextInt(REGISTER_KEYS)}`;
    const value = `${client}-${n}`;
    const roll = this.rng.nextInt(10);
    const callMs = this.now();
    let input: KvInput;
    let result: CallResult;
    let output: RegisterOutput = WRITE_OK;
    if (roll < 4) {
      input = { type: 'read', key };
      result = await connection.range({ key: Buffer.from(key) });
      if (result.kind === 'ok') output = text((result.response.kvs as ProtoObject[] | undefined)?.[0]?.value);
    } else if (roll < 8) {
      input = { type: 'write', key, value };
      result = await connection.put({ key: Buffer.from(key), value: Buffer.from(value) });
    } else {
      const expected = this.rng.chance(0.5)
        ? null
        : `${this.rng.nextInt(8)}-${this.rng.nextInt(Math.max(1, n))}`;
      input = { type: 'cas', key, expected, value };
      result = await connection.txn(casRequest(key, expected, value));
      if (result.kind === 'ok') output = result.response.succeeded === true;
    }
    const op = this.record(client, member, 'register', key, input, callMs, result, output);
    if (result.kind === 'fail') return result.kind; // definitely did not happen: not part of the history
    this.registerHistory.push({
      id: op.id,
      client,
      input,
      call: callMs,
      ...(result.kind === 'ok' ? { output, return: op.returnMs } : {}),
    });
    return result.kind;
  }

  private async setAdd(
    connection: LabClient,
    client: number,
    member: LabMember,
    n: number,
  ): Promise<CallResult['kind']> {
    const key = `s/${client}-${n}`;
    const callMs = this.now();
    const result = await connection.put({ key: Buffer.from(key), value: Buffer.from('1') });
    this.record(client, member, 'set', key, { add: key }, callMs, result, 'ok');
    this.setAdds.set(key, result.kind);
    return result.kind;
  }
}

/** Compare-and-set as etcd clients write it: a Txn on the value (or on absence). */
function casRequest(key: string, expected: string | null, value: string): ProtoObject {
  const compare =
    expected === null
      ? { key: Buffer.from(key), target: 1 /* CREATE */, result: 0, create_revision: '0' }
      : { key: Buffer.from(key), target: 3 /* VALUE */, result: 0, value: Buffer.from(expected) };
  return {
    compare: [compare],
    success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(value) } }],
    failure: [],
  };
}
