// The list-append workload (Elle's list-append over etcd): keys la/0..7 each hold a JSON array of
// numbers; a transaction of 1–4 micro-ops (append k v, read k) runs as ONE etcd Txn. etcd has no
// "append", so a transaction is optimistic: a read-only Txn takes a snapshot of the keys it
// touches, then the write Txn compares every touched key's mod_revision (create_revision 0 for an
// absent key) with the snapshot and, if all still match, ranges the read keys and puts the
// extended lists. A compare that fails means the Txn did nothing: a definite failure. Read
// results come from the ranges inside the write Txn (placed before its puts, so they show the
// state the compare guarded), extended by the transaction's own earlier appends. Checked by
// src/check/list-append.ts for strict serializability.

import { checkListAppend, type ListAppendMicroOp, type ListAppendTransaction } from '../check/list-append.js';
import type { CallResult, LabClient, ProtoObject } from './client.js';
import type { CheckerVerdict } from './report.js';
import type { CheckContext, Outcome, StepContext, Workload } from './workload.js';

const LIST_KEYS = 8;
const KEY_PREFIX = 'la/';
const MAX_MICRO_OPS = 4;
const FINAL_READ_ATTEMPTS = 10;
const FINAL_READ_RETRY_MS = 500;
/** Lists longer than this are reported as a malformed value, not parsed. */
const MAX_LIST_ELEMENTS = 1_000_000;

const MAX_MALFORMED_REPORTED = 10;

const COMPARE_TARGET_CREATE = 1;
const COMPARE_TARGET_MOD = 2;
const COMPARE_EQUAL = 0;

export class ListValueError extends Error {
  constructor(key: string, value: string) {
    super(`list-append: ${key} holds ${JSON.stringify(value.slice(0, 80))}, not a list of numbers`);
    this.name = 'ListValueError';
  }
}

/** Parses a stored list (absent key = empty list). Anything else fails loudly: it is a finding. */
export function parseList(key: string, value: Uint8Array | undefined): number[] {
  if (value === undefined || value.byteLength === 0) return [];
  const text = Buffer.from(value).toString();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parse error itself says nothing more than "not JSON"; ListValueError carries the value.
    throw new ListValueError(key, text);
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length > MAX_LIST_ELEMENTS ||
    !parsed.every((v): v is number => Number.isSafeInteger(v))
  )
    throw new ListValueError(key, text);
  return parsed;
}

interface Snapshot {
  readonly list: number[];
  /** '0' when the key is absent. */
  readonly modRevision: string;
}

type KeyValue = { value?: Uint8Array; mod_revision?: string };

/** The kvs of the i-th response of a Txn (proto-loader: a oneof with snake_case members). */
function rangeResult(response: ProtoObject, index: number): KeyValue | undefined {
  const responses = (response.responses as ProtoObject[] | undefined) ?? [];
  const range = responses[index]?.response_range as { kvs?: KeyValue[] } | undefined;
  return range?.kvs?.[0];
}

const rangeOp = (key: string): ProtoObject => ({ request_range: { key: Buffer.from(key) } });

export class ListAppendWorkload implements Workload {
  readonly name = 'list-append';
  readonly description =
    'Txns of appends to and reads of lists (optimistic, mod_revision compares), checked for strict serializability (Elle)';
  private readonly history: ListAppendTransaction[] = [];
  /** Appended values are unique across the workload (the checker relies on it). */
  private nextValue = 1;
  /** Messages for values read that are not lists of numbers; only MAX_MALFORMED_REPORTED are shown. */
  private readonly malformed: string[] = [];

  async step(context: StepContext): Promise<Outcome> {
    const ops = this.plan(context);
    const keys = [...new Set(ops.map((op) => op.key))];
    const callMs = context.now();
    let executed: { outcome: Outcome; output?: ListAppendMicroOp[]; error?: string };
    try {
      executed = await this.execute(context.connection, ops, keys);
    } catch (error) {
      if (!(error instanceof ListValueError)) throw error;
      // The store returned something no client wrote: a finding for check(), and an unknown
      // outcome here (the write Txn may have applied before its response was misread).
      this.malformed.push(error.message);
      executed = { outcome: 'info', error: error.message };
    }
    const { outcome, output, error } = executed;
    const op = context.record({
      key: keys.join(','),
      input: ops.map((o) => [o.f, o.key, o.f === 'append' ? o.value : null]),
      output: output?.map((o) => [o.f, o.key, o.value]),
      callMs,
      outcome,
      error,
    });
    this.history.push({
      id: op.id,
      outcome,
      ops: output ?? ops,
      callMs,
      ...(outcome === 'info' ? {} : { returnMs: op.returnMs }),
    });
    return outcome;
  }

  private plan(context: StepContext): ListAppendMicroOp[] {
    const count = 1 + context.random(MAX_MICRO_OPS);
    const ops: ListAppendMicroOp[] = [];
    for (let i = 0; i < count; i++) {
      const key = `${KEY_PREFIX}${context.random(LIST_KEYS)}`;
      ops.push(
        context.random(2) === 0
          ? { f: 'append', key, value: this.nextValue++ }
          : { f: 'read', key, value: null },
      );
    }
    return ops;
  }

  private async execute(
    connection: LabClient,
    ops: readonly ListAppendMicroOp[],
    keys: readonly string[],
  ): Promise<{ outcome: Outcome; output?: ListAppendMicroOp[]; error?: string }> {
    // 1. Snapshot. Nothing was written yet, so any failure here is a definite one.
    const snapshot = await connection.txn({ compare: [], success: keys.map(rangeOp), failure: [] });
    if (snapshot.kind !== 'ok') return { outcome: 'fail', error: `snapshot: ${snapshot.error}` };
    const before = new Map<string, Snapshot>();
    keys.forEach((key, i) => {
      const kv = rangeResult(snapshot.response, i);
      before.set(key, { list: parseList(key, kv?.value), modRevision: kv?.mod_revision ?? '0' });
    });

    // 2. The write Txn: guarded by every touched key's revision; reads first, then puts.
    const readKeys = keys.filter((key) => ops.some((op) => op.f === 'read' && op.key === key));
    const after = new Map<string, number[]>();
    for (const op of ops) {
      if (op.f !== 'append') continue;
      const list = after.get(op.key) ?? [...(before.get(op.key)?.list ?? [])];
      list.push(op.value);
      after.set(op.key, list);
    }
    const compare = keys.map((key) => {
      const modRevision = before.get(key)?.modRevision ?? '0';
      return modRevision === '0'
        ? {
            key: Buffer.from(key),
            target: COMPARE_TARGET_CREATE,
            result: COMPARE_EQUAL,
            create_revision: '0',
          }
        : {
            key: Buffer.from(key),
            target: COMPARE_TARGET_MOD,
            result: COMPARE_EQUAL,
            mod_revision: modRevision,
          };
    });
    const puts = [...after].map(([key, list]) => ({
      request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(list)) },
    }));
    const result: CallResult = await connection.txn({
      compare,
      success: [...readKeys.map(rangeOp), ...puts],
      failure: [],
    });
    if (result.kind !== 'ok') return { outcome: result.kind, error: result.error };
    if (result.response.succeeded !== true)
      return { outcome: 'fail', error: 'compare failed: a key changed' };

    // 3. Read results: what the Txn's ranges saw, plus this transaction's earlier appends.
    const state = new Map<string, number[]>();
    readKeys.forEach((key, i) => {
      state.set(key, parseList(key, rangeResult(result.response, i)?.value));
    });
    const output = ops.map((op): ListAppendMicroOp => {
      let list = state.get(op.key);
      if (list === undefined) {
        // Appended, never read: the snapshot (which the compare held) is the base.
        list = [...(before.get(op.key)?.list ?? [])];
        state.set(op.key, list);
      }
      if (op.f === 'append') {
        list.push(op.value);
        return op;
      }
      return { f: 'read', key: op.key, value: [...list] };
    });
    return { outcome: 'ok', output };
  }

  async check(context: CheckContext): Promise<CheckerVerdict> {
    let final: Awaited<ReturnType<typeof finalRead>>;
    try {
      final = await finalRead(context);
    } catch (error) {
      if (!(error instanceof ListValueError)) throw error;
      this.malformed.push(error.message);
      final = { kind: 'error', error: error.message };
    }
    const history = [...this.history];
    let note = '';
    if (final.kind === 'ok') {
      // After every client stopped: a read later than every operation, in real time too.
      const lastMs = history.reduce((latest, t) => Math.max(latest, t.returnMs ?? t.callMs), 0);
      history.push({ id: -1, outcome: 'ok', ops: final.ops, callMs: lastMs + 1, returnMs: lastMs + 2 });
    } else {
      note = ` (final read failed: ${final.error})`;
    }
    if (this.malformed.length > 0) {
      return {
        workload: this.name,
        valid: false,
        summary: `${this.malformed.length} malformed list values read`,
        explanation: this.malformed.slice(0, MAX_MALFORMED_REPORTED).join('\n'),
      };
    }
    const result = checkListAppend(history);
    const ok = this.history.filter((t) => t.outcome === 'ok').length;
    const info = this.history.filter((t) => t.outcome === 'info').length;
    const failed = this.history.length - ok - info;
    if (result.valid === 'unknown')
      return { workload: this.name, valid: 'unknown', summary: `check incomplete: ${result.reason}` };
    if (result.valid) {
      return {
        workload: this.name,
        valid: true,
        summary: `${ok} txns strict serializable (${info} indefinite, ${failed} failed)${note}`,
      };
    }
    return {
      workload: this.name,
      valid: false,
      summary: `${result.anomalyTypes.join(', ')} in ${ok} txns${note}`,
      explanation: result.anomalies.map((a) => `${a.type}: ${a.explanation}`).join('\n'),
      failingOperations: [...new Set(result.anomalies.flatMap((a) => a.transactions))].filter(
        (id) => id >= 0,
      ),
    };
  }
}

/** One linearizable read of every list after convergence, so lost appends show. */
async function finalRead(
  context: CheckContext,
): Promise<{ kind: 'ok'; ops: ListAppendMicroOp[] } | { kind: 'error'; error: string }> {
  let lastError = '';
  for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS; attempt++) {
    const client = await context.connect();
    const keys = Array.from({ length: LIST_KEYS }, (_, i) => `${KEY_PREFIX}${i}`);
    const read = await client.txn({ compare: [], success: keys.map(rangeOp), failure: [] });
    client.close();
    if (read.kind === 'ok') {
      const response = read.response;
      return {
        kind: 'ok',
        ops: keys.map((key, i) => ({
          f: 'read',
          key,
          value: parseList(key, rangeResult(response, i)?.value),
        })),
      };
    }
    lastError = read.error;
    await new Promise((resolve) => setTimeout(resolve, FINAL_READ_RETRY_MS));
  }
  return { kind: 'error', error: lastError };
}

export const createListAppendWorkload = (): Workload => new ListAppendWorkload();
