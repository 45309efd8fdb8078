// The register workload: per-key registers with linearizable reads (Range), writes (Put) and
// compare-and-set (Txn on the value). Keys rotate every KEY_GENERATION_MS so each key's history
// stays small enough for the linearizability search.

import type { Operation } from '../check/history.js';
import { checkLinearizability } from '../check/linearizability.js';
import { type KvInput, kvModel, type RegisterOutput, WRITE_OK } from '../check/models.js';
import type { CallResult, ProtoObject } from './client.js';
import type { CheckerVerdict } from './report.js';
import type { Outcome, StepContext, Workload } from './workload.js';

const REGISTER_KEYS = 8;
const KEY_GENERATION_MS = 2_000;

export const text = (value: unknown): string | null =>
  value instanceof Uint8Array
    ? Buffer.from(value).toString()
    : value === undefined || value === null
      ? null
      : String(value);

/** Compare-and-set as etcd clients write it: a Txn on the value (or on absence). */
export function casRequest(key: string, expected: string | null, value: string): ProtoObject {
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

export class RegisterWorkload implements Workload {
  readonly name = 'register';
  readonly description =
    'per-key registers: read, write and compare-and-set (Txn), checked for linearizability';
  private readonly history: Operation<KvInput, RegisterOutput>[] = [];

  async step(context: StepContext): Promise<Outcome> {
    const { connection, client, n } = context;
    const key = `r/${Math.floor(context.now() / KEY_GENERATION_MS)}/${context.random(REGISTER_KEYS)}`;
    const value = `${client}-${n}`;
    const roll = context.random(10);
    const callMs = context.now();
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
      const expected =
        context.random(2) === 0 ? null : `${context.random(8)}-${context.random(Math.max(1, n))}`;
      input = { type: 'cas', key, expected, value };
      result = await connection.txn(casRequest(key, expected, value));
      if (result.kind === 'ok') output = result.response.succeeded === true;
    }
    const op = context.record({
      key,
      input,
      output: result.kind === 'ok' ? output : undefined,
      callMs,
      outcome: result.kind,
      error: result.kind === 'ok' ? undefined : result.error,
    });
    // A definite failure did not happen: it is not part of the history to linearize.
    if (result.kind !== 'fail') {
      this.history.push({
        id: op.id,
        client,
        input,
        call: callMs,
        ...(result.kind === 'ok' ? { output, return: op.returnMs } : {}),
      });
    }
    return result.kind;
  }

  async check(): Promise<CheckerVerdict> {
    const result = checkLinearizability(kvModel, this.history);
    const ops = this.history.length;
    if (result.valid === true)
      return { workload: this.name, valid: true, summary: `${ops} ops linearizable` };
    if (result.valid === 'unknown') {
      return {
        workload: this.name,
        valid: 'unknown',
        summary: `check incomplete on key ${result.key}: ${result.reason}`,
      };
    }
    return {
      workload: this.name,
      valid: false,
      summary: `not linearizable on key ${result.key}`,
      explanation: result.message,
      failingOperations: result.operations.map((o) => o.id),
    };
  }
}
