// Property test: the LMDB store against a tiny in-memory reference model of etcd's MVCC rules,
// over random put / delete / range / txn sequences. Seeded and bounded so CI is reproducible.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CompareResult, CompareTarget, type KeyValue, type RequestOp } from '../../src/mvcc/index.js';
import { ALL, b, openTemp, s } from './helpers.js';

interface ModelKv {
  readonly value: string;
  readonly create: number;
  readonly mod: number;
  readonly version: number;
}

type State = Map<string, ModelKv>;

class Model {
  revision = 1;
  readonly states: State[] = [new Map(), new Map()]; // states[r]: the key space after revision r

  current(): State {
    return this.states[this.revision]!;
  }

  /** Applies writes as one revision; returns whether anything changed. */
  write(puts: readonly [string, string][], deletes: readonly [string, string | undefined][]): boolean {
    const next = new Map(this.current());
    const revision = this.revision + 1;
    let changed = false;
    for (const [start, end] of deletes) {
      for (const key of [...next.keys()]) {
        if (inRange(key, start, end)) {
          next.delete(key);
          changed = true;
        }
      }
    }
    for (const [key, value] of puts) {
      const prev = next.get(key);
      next.set(key, {
        value,
        create: prev?.create ?? revision,
        mod: revision,
        version: (prev?.version ?? 0) + 1,
      });
      changed = true;
    }
    if (changed) {
      this.revision = revision;
      this.states[revision] = next;
    }
    return changed;
  }

  range(start: string, end: string | undefined, revision: number): [string, ModelKv][] {
    const state = this.states[revision]!;
    return [...state.entries()]
      .filter(([k]) => inRange(k, start, end))
      .sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  }
}

/** end undefined: single key; "\0": open ended. */
function inRange(key: string, start: string, end: string | undefined): boolean {
  const k = Buffer.from(key, 'latin1');
  if (end === undefined) return key === start;
  if (Buffer.compare(k, Buffer.from(start, 'latin1')) < 0) return false;
  return end === '\0' || Buffer.compare(k, Buffer.from(end, 'latin1')) < 0;
}

const keyArb = fc.constantFrom('a', 'ab', 'b', 'b\0', 'c', '\0x');
const endArb = fc.option(fc.constantFrom('b', 'c', 'd', '\0'), { nil: undefined });
const valueArb = fc.constantFrom('', 'v1', 'v2', 'zz');

type Op =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'delete'; key: string; end: string | undefined }
  | { kind: 'range'; key: string; end: string | undefined; back: number; limit: number }
  | { kind: 'txn'; key: string; version: number; puts: [string, string][]; deleteKey: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ kind: fc.constant('delete' as const), key: keyArb, end: endArb }),
  fc.record({
    kind: fc.constant('range' as const),
    key: keyArb,
    end: endArb,
    back: fc.nat(4),
    limit: fc.nat(3),
  }),
  fc.record({
    kind: fc.constant('txn' as const),
    key: keyArb,
    version: fc.nat(2),
    puts: fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => k, maxLength: 3 }),
    deleteKey: keyArb,
  }),
);

function view(kvs: readonly KeyValue[]): [string, ModelKv][] {
  return kvs.map((kv) => [
    s(kv.key),
    { value: s(kv.value), create: kv.createRevision, mod: kv.modRevision, version: kv.version },
  ]);
}

test('the store matches a reference model on random operation sequences', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      const temp = openTemp();
      const model = new Model();
      try {
        const store = temp.store;
        for (const op of ops) {
          switch (op.kind) {
            case 'put': {
              const r = store.put({ key: b(op.key), value: b(op.value) });
              model.write([[op.key, op.value]], []);
              assert.equal(r.header.revision, model.revision);
              break;
            }
            case 'delete': {
              const r = store.deleteRange(
                op.end === undefined ? { key: b(op.key) } : { key: b(op.key), rangeEnd: b(op.end) },
              );
              const before = model.range(op.key, op.end, model.revision).length;
              model.write([], [[op.key, op.end]]);
              assert.equal(r.deleted, before);
              assert.equal(r.header.revision, model.revision);
              break;
            }
            case 'range': {
              const revision = Math.max(1, model.revision - op.back);
              const r = store.range({
                key: b(op.key),
                ...(op.end === undefined ? {} : { rangeEnd: b(op.end) }),
                revision,
                limit: op.limit,
              });
              const expected = model.range(op.key, op.end, revision);
              const limited = op.limit > 0 ? expected.slice(0, op.limit) : expected;
              assert.deepEqual(view(r.kvs), limited);
              assert.equal(r.count, expected.length);
              assert.equal(r.more, op.limit > 0 && expected.length > op.limit);
              assert.equal(r.header.revision, model.revision);
              break;
            }
            case 'txn': {
              const current = model.current().get(op.key);
              const succeeded = (current?.version ?? 0) === op.version;
              // The delete goes in the failure branch only, so it never overlaps the puts.
              const success: RequestOp[] = op.puts.map(([key, value]) => ({
                type: 'put',
                put: { key: b(key), value: b(value) },
              }));
              const failure: RequestOp[] = [{ type: 'deleteRange', deleteRange: { key: b(op.deleteKey) } }];
              const r = store.txn({
                compare: [
                  {
                    key: b(op.key),
                    target: CompareTarget.VERSION,
                    result: CompareResult.EQUAL,
                    version: op.version,
                  },
                ],
                success,
                failure,
              });
              assert.equal(r.succeeded, succeeded);
              if (succeeded) model.write(op.puts, []);
              else model.write([], [[op.deleteKey, undefined]]);
              assert.equal(r.header.revision, model.revision);
              break;
            }
          }
        }
        const all = store.range({ key: b('\0'), rangeEnd: ALL });
        assert.deepEqual(view(all.kvs), model.range('\0', '\0', model.revision));
      } finally {
        await temp.dispose();
      }
    }),
    { seed: 20240611, numRuns: 60 },
  );
});
