// Reading the key space at a revision: etcd's storeTxnRead.rangeKeys. Callers have already
// checked the revision against the compact and current revisions.
//
// At the current revision a read touches only the `latest` table (one lookup per key). A read
// at a past revision walks the `hist` table, where each user key's revisions are contiguous and
// ascending, and picks for each key the newest revision <= the read revision unless that is a
// tombstone; the record itself comes from the `rev` table.

import { assert } from '../raft/assert.js';
import { decodeRecord } from './codec.js';
import {
  historyBounds,
  historyKey,
  historyPrefix,
  isEmptyKeyRange,
  type KeyRange,
  REVISION_KEY_BYTES,
  readUint64,
} from './keys.js';
import type { Tables } from './tables.js';
import type { KeyValue } from './types.js';

export interface RangeKeysResult {
  /** At most `limit` key-values in ascending key order (all of them when limit is 0). */
  readonly kvs: KeyValue[];
  /** Every key that matched, regardless of limit (etcd 3.4: len(revpairs)). */
  readonly count: number;
}

const EMPTY_RESULT: RangeKeysResult = { kvs: [], count: 0 };
const HISTORY_TOMBSTONE = 1;

export function rangeKeys(
  tables: Tables,
  range: KeyRange,
  atRevision: number,
  currentRevision: number,
  limit: number,
  countOnly: boolean,
): RangeKeysResult {
  if (isEmptyKeyRange(range)) return EMPTY_RESULT;
  if (atRevision >= currentRevision) return rangeLatest(tables, range, limit, countOnly);
  return rangeHistory(tables, range, atRevision, limit, countOnly);
}

/** The live key-value of `key` at the current revision. */
export function getLatest(tables: Tables, key: Uint8Array): KeyValue | undefined {
  const record = tables.latest.get(key as Buffer);
  return record === undefined ? undefined : decodeRecord(record);
}

function rangeLatest(tables: Tables, range: KeyRange, limit: number, countOnly: boolean): RangeKeysResult {
  if (range.single) {
    const record = tables.latest.get(range.start as Buffer);
    if (record === undefined) return EMPTY_RESULT;
    return { kvs: countOnly ? [] : [decodeRecord(record)], count: 1 };
  }
  const options = { start: range.start as Buffer, end: range.end as Buffer | undefined };
  if (countOnly) return { kvs: [], count: tables.latest.getCount(options) };
  const kvs: KeyValue[] = [];
  for (const { value } of tables.latest.getRange(options)) {
    if (limit > 0 && kvs.length === limit) {
      // Only the total is still needed; count without decoding.
      return { kvs, count: tables.latest.getCount(options) };
    }
    kvs.push(decodeRecord(value));
  }
  return { kvs, count: kvs.length };
}

/** A revision large enough that no sub revision reaches it. */
const MAX_SUB_REVISION = Number.MAX_SAFE_INTEGER;

/** The key-value of `key` as of `atRevision` (undefined if absent or deleted then). */
export function getAt(tables: Tables, key: Uint8Array, atRevision: number): KeyValue | undefined {
  const prefix = historyPrefix(key);
  for (const { key: entryKey, value } of tables.hist.getRange({
    start: historyKey(prefix, atRevision, MAX_SUB_REVISION),
    end: prefix,
    reverse: true,
    limit: 1,
  })) {
    if (value[0] === HISTORY_TOMBSTONE) return undefined;
    return readRevision(tables, entryKey.subarray(entryKey.length - REVISION_KEY_BYTES));
  }
  return undefined;
}

function rangeHistory(
  tables: Tables,
  range: KeyRange,
  atRevision: number,
  limit: number,
  countOnly: boolean,
): RangeKeysResult {
  if (range.single) {
    const kv = getAt(tables, range.start, atRevision);
    if (kv === undefined) return EMPTY_RESULT;
    return { kvs: countOnly ? [] : [kv], count: 1 };
  }
  const kvs: KeyValue[] = [];
  let count = 0;
  let group: Buffer | undefined; // escaped key + terminator of the key being scanned
  let candidate: Buffer | undefined; // revision key of its newest revision <= atRevision
  let candidateIsTombstone = false;
  const flush = (): void => {
    if (candidate === undefined || candidateIsTombstone) return;
    count++;
    if (!countOnly && (limit === 0 || kvs.length < limit)) kvs.push(readRevision(tables, candidate));
  };
  const bounds = historyBounds(range);
  for (const { key, value } of tables.hist.getRange({ start: bounds.start, end: bounds.end })) {
    const prefixLength = key.length - REVISION_KEY_BYTES;
    if (
      group === undefined ||
      group.length !== prefixLength ||
      key.compare(group, 0, prefixLength, 0, prefixLength) !== 0
    ) {
      flush();
      group = key.subarray(0, prefixLength);
      candidate = undefined;
    }
    if (readUint64(key, prefixLength) > atRevision) continue;
    candidate = key.subarray(prefixLength);
    candidateIsTombstone = value[0] === HISTORY_TOMBSTONE;
  }
  flush();
  return { kvs, count };
}

function readRevision(tables: Tables, revisionKeyBytes: Buffer): KeyValue {
  const record = tables.rev.get(revisionKeyBytes);
  assert(record !== undefined, 'history names a revision missing from the rev table');
  return decodeRecord(record);
}
