// Txn guards: etcdserver/apply.go applyCompare and compareKV (etcd 3.4).

import { compareBytes, keyRange } from './keys.js';
import { rangeKeys } from './read.js';
import type { Tables } from './tables.js';
import { type Compare, CompareResult, CompareTarget, type KeyValue } from './types.js';

const EMPTY = new Uint8Array(0);
const ABSENT: KeyValue = {
  key: EMPTY,
  createRevision: 0,
  modRevision: 0,
  version: 0,
  value: EMPTY,
  lease: 0n,
};

/** True when every compare holds at `revision` (the current revision, before the txn writes). */
export function applyCompares(tables: Tables, revision: number, compares: readonly Compare[]): boolean {
  for (const c of compares) if (!applyCompare(tables, revision, c)) return false;
  return true;
}

function applyCompare(tables: Tables, revision: number, c: Compare): boolean {
  const { kvs } = rangeKeys(tables, keyRange(c.key, c.rangeEnd), revision, revision, 0, false);
  if (kvs.length === 0) {
    // etcd: a value compare on missing keys always fails (gRPC cannot tell a missing value from
    // an empty one); the other targets compare against an all-zero key-value.
    if (c.target === CompareTarget.VALUE) return false;
    return compareKeyValue(c, ABSENT);
  }
  // With a range end, every key in the range must satisfy the compare.
  for (const kv of kvs) if (!compareKeyValue(c, kv)) return false;
  return true;
}

function sign(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKeyValue(c: Compare, kv: KeyValue): boolean {
  let result: number;
  switch (c.target) {
    case CompareTarget.VALUE:
      result = compareBytes(kv.value, c.value ?? EMPTY);
      break;
    case CompareTarget.CREATE:
      result = sign(kv.createRevision, c.createRevision ?? 0);
      break;
    case CompareTarget.MOD:
      result = sign(kv.modRevision, c.modRevision ?? 0);
      break;
    case CompareTarget.VERSION:
      result = sign(kv.version, c.version ?? 0);
      break;
    case CompareTarget.LEASE:
      result = sign(kv.lease, c.lease ?? 0n);
      break;
    default:
      result = 0;
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
    default:
      // etcd returns true for an unknown result.
      return true;
  }
}
