// MVCC apply throughput on src/mvcc (LMDB, lazy sync): operations per second for single puts
// (one entry per LMDB transaction), puts in applyBatch batches of 64, a guarded 3-put txn, and
// serializable ranges of 1 and 1,000 keys. One store, preloaded with a fixed key space, so puts
// are overwrites that grow each key's history, as in a running cluster.

import { performance } from 'node:perf_hooks';
import {
  type ApplyEntry,
  type ApplyRequest,
  CompareResult,
  CompareTarget,
  MvccStore,
} from '../../src/mvcc/index.js';
import { assert } from '../../src/raft/assert.js';
import { benchKey, benchValue, KEY_BYTES, VALUE_BYTES } from './keys.js';
import { formatCount, printTable, round } from './table.js';
import { withTempDir } from './temp-dir.js';

const KEY_SPACE = 10_000;
const PRELOAD_BATCH_ENTRIES = 1000;
const APPLY_BATCH_ENTRIES = 64;
const TXN_PUTS = 3;
const RANGE_KEYS = 1000;
/** Visits the key space in a scattered but deterministic order (coprime with KEY_SPACE). */
const KEY_STRIDE = 7919;

interface MvccRow {
  readonly name: string;
  /** Applies (entries) or reads done. */
  readonly ops: number;
  /** Keys written or returned. */
  readonly keys: number;
  /** LMDB write transactions committed; 0 for reads. */
  readonly writeTxns: number;
  readonly seconds: number;
}

export interface MvccSummary {
  readonly keySpace: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly rowMs: number;
  readonly rows: readonly {
    readonly name: string;
    readonly opsPerSecond: number;
    readonly keysPerSecond: number;
    readonly opsPerWriteTxn: number | null;
  }[];
}

interface Fixture {
  readonly store: MvccStore;
  readonly keys: readonly Buffer[];
  readonly puts: readonly ApplyRequest[];
  readonly txns: readonly ApplyRequest[];
}

function scattered(i: number): number {
  return (i * KEY_STRIDE) % KEY_SPACE;
}

function makeFixture(store: MvccStore): Fixture {
  const value = benchValue();
  const keys: Buffer[] = [];
  for (let i = 0; i < KEY_SPACE; i++) keys.push(benchKey(i));
  // Requests are built once so the timed loops measure the store, not the benchmark's allocation.
  const puts: ApplyRequest[] = keys.map((key) => ({ type: 'put', put: { key, value } }));
  const txns: ApplyRequest[] = keys.map((_, i) => ({
    type: 'txn',
    txn: {
      compare: [{ key: keys[i]!, target: CompareTarget.VERSION, result: CompareResult.GREATER, version: 0 }],
      success: Array.from({ length: TXN_PUTS }, (_, op) => ({
        type: 'put' as const,
        put: { key: keys[(i + op) % KEY_SPACE]!, value },
      })),
    },
  }));
  for (let start = 0; start < KEY_SPACE; start += PRELOAD_BATCH_ENTRIES) {
    const entries: ApplyEntry[] = [];
    for (let i = start; i < Math.min(start + PRELOAD_BATCH_ENTRIES, KEY_SPACE); i++) {
      entries.push({ index: store.appliedIndex() + 1 + entries.length, request: puts[i]! });
    }
    for (const result of store.applyBatch(entries)) assert(result.status === 'applied', 'preload put failed');
  }
  return { store, keys, puts, txns };
}

function singlePuts(f: Fixture, rowMs: number): MvccRow {
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < rowMs) {
    const result = f.store.applyEntry(f.store.appliedIndex() + 1, f.puts[scattered(ops)]!);
    assert(result.status === 'applied', 'single put failed');
    ops++;
  }
  const seconds = (performance.now() - start) / 1000;
  return { name: 'put, 1 entry per LMDB txn', ops, keys: ops, writeTxns: ops, seconds };
}

function batchedPuts(f: Fixture, rowMs: number): MvccRow {
  let ops = 0;
  let writeTxns = 0;
  const entries: ApplyEntry[] = new Array(APPLY_BATCH_ENTRIES);
  const start = performance.now();
  while (performance.now() - start < rowMs) {
    const firstIndex = f.store.appliedIndex() + 1;
    for (let i = 0; i < APPLY_BATCH_ENTRIES; i++) {
      entries[i] = { index: firstIndex + i, request: f.puts[scattered(ops + i)]! };
    }
    const results = f.store.applyBatch(entries);
    assert(results.length === APPLY_BATCH_ENTRIES, 'applyBatch answered a different count');
    for (const result of results) assert(result.status === 'applied', 'batched put failed');
    ops += APPLY_BATCH_ENTRIES;
    writeTxns++;
  }
  const seconds = (performance.now() - start) / 1000;
  return { name: `put, applyBatch of ${APPLY_BATCH_ENTRIES}`, ops, keys: ops, writeTxns, seconds };
}

function threePutTxns(f: Fixture, rowMs: number): MvccRow {
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < rowMs) {
    const result = f.store.applyEntry(f.store.appliedIndex() + 1, f.txns[scattered(ops)]!);
    assert(result.status === 'applied' && result.response.type === 'txn', 'txn failed');
    assert(result.response.txn.succeeded, 'txn guard should hold: every key exists');
    ops++;
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    name: `txn: 1 compare + ${TXN_PUTS} puts, 1 entry`,
    ops,
    keys: ops * TXN_PUTS,
    writeTxns: ops,
    seconds,
  };
}

function singleKeyRanges(f: Fixture, rowMs: number): MvccRow {
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < rowMs) {
    const response = f.store.range({ key: f.keys[scattered(ops)]! });
    assert(response.count === 1, 'single-key range missed a preloaded key');
    ops++;
  }
  const seconds = (performance.now() - start) / 1000;
  return { name: 'range, 1 key', ops, keys: ops, writeTxns: 0, seconds };
}

function wideRanges(f: Fixture, rowMs: number): MvccRow {
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < rowMs) {
    const first = scattered(ops) % (KEY_SPACE - RANGE_KEYS);
    const response = f.store.range({ key: f.keys[first]!, rangeEnd: f.keys[first + RANGE_KEYS]! });
    assert(response.kvs.length === RANGE_KEYS, 'wide range returned the wrong number of keys');
    ops++;
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    name: `range, ${formatCount(RANGE_KEYS)} keys`,
    ops,
    keys: ops * RANGE_KEYS,
    writeTxns: 0,
    seconds,
  };
}

export function benchMvcc(rowMs: number): Promise<MvccSummary> {
  return withTempDir('flotilla-bench-mvcc-', async (dir) => {
    const store = MvccStore.open({ path: dir });
    const rows: MvccRow[] = [];
    try {
      const fixture = makeFixture(store);
      for (const run of [singlePuts, batchedPuts, threePutTxns, singleKeyRanges, wideRanges]) {
        rows.push(run(fixture, rowMs));
      }
    } finally {
      await store.close();
    }
    printTable(
      `MVCC on LMDB (lazy sync): ${KEY_BYTES}-byte keys from a space of ${formatCount(KEY_SPACE)}, ` +
        `${VALUE_BYTES}-byte values, ~${rowMs} ms per row`,
      [
        { title: 'row', left: true },
        { title: 'ops/s' },
        { title: 'keys/s' },
        { title: 'us/op' },
        { title: 'ops/LMDB write txn' },
      ],
      rows.map((row) => [
        row.name,
        formatCount(row.ops / row.seconds),
        formatCount(row.keys / row.seconds),
        ((row.seconds * 1e6) / row.ops).toFixed(1),
        row.writeTxns === 0 ? '- (read)' : (row.ops / row.writeTxns).toFixed(0),
      ]),
    );
    return {
      keySpace: KEY_SPACE,
      keyBytes: KEY_BYTES,
      valueBytes: VALUE_BYTES,
      rowMs,
      rows: rows.map((row) => ({
        name: row.name,
        opsPerSecond: Math.round(row.ops / row.seconds),
        keysPerSecond: Math.round(row.keys / row.seconds),
        opsPerWriteTxn: row.writeTxns === 0 ? null : round(row.ops / row.writeTxns, 1),
      })),
    };
  });
}
