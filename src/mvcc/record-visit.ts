// Reading `latest` records without copying them, for responses encoded straight from the stored
// bytes (a Range of 10,000 keys). lmdb-js copies every binary value it returns into a new
// Buffer: with the decoding of each record into an object and the response's conversion of
// that object, about half of a large Range's CPU time and most of its garbage. A database
// handle opened with a decoder instead gets each value in lmdb-js's shared read buffer, valid
// only during the call; the decoder hands it to the visitor of the range being read.

import { assert } from '../raft/assert.js';
import { isEmptyKeyRange, type KeyRange } from './keys.js';
import type { Tables } from './tables.js';

/**
 * `record` is one `latest` record (codec.ts layout), valid only during the call. lmdb-js sets
 * the shared buffer's length to the record's (its range iterator also passes the size, its get
 * does not).
 */
export type RecordVisitor = (record: Uint8Array) => void;

let currentVisitor: RecordVisitor | null = null;

/** The lmdb-js encoder of the visiting handle: reads only, each value to the current visitor. */
export const VISITING_ENCODER = {
  encode(): never {
    throw new Error('the visiting handle of the latest table is read-only');
  },
  decode(bytes: Uint8Array): true {
    assert(currentVisitor !== null, 'a latest record decoded outside visitLatest');
    currentVisitor(bytes);
    return true;
  },
  // lmdb-js: the decoder copies what it keeps, so the shared buffer may be passed as is.
  needsStableBuffer: false,
} as const;

/**
 * Keys of the visiting handle: written as raw bytes, and never read back, because a record holds
 * its key (lmdb-js otherwise copies every key it passes into a new Buffer).
 */
export const VISITING_KEY_ENCODER = {
  writeKey(key: Uint8Array, target: Uint8Array, start: number): number {
    target.set(key, start);
    return start + key.length;
  },
  readKey(): true {
    return true;
  },
} as const;

export interface VisitResult {
  /** Records handed to the visitor (at most `limit` when limit > 0). */
  readonly visited: number;
  /** Every key in the range (etcd 3.4: the count ignores the limit). */
  readonly count: number;
}

/** Hands every live record in `range` (ascending key order, at most `limit` if > 0) to `visit`. */
export function visitLatest(
  tables: Tables,
  range: KeyRange,
  limit: number,
  visit: RecordVisitor,
): VisitResult {
  assert(currentVisitor === null, 'visitLatest is not re-entrant');
  if (isEmptyKeyRange(range)) return { visited: 0, count: 0 };
  currentVisitor = visit;
  try {
    if (range.single) {
      const found = tables.latestVisit.get(range.start as Buffer) !== undefined;
      return { visited: found ? 1 : 0, count: found ? 1 : 0 };
    }
    const options = { start: range.start as Buffer, end: range.end as Buffer | undefined };
    let visited = 0;
    for (const _ of tables.latestVisit.getRange({ ...options, ...(limit > 0 ? { limit } : {}) })) visited++;
    const count = limit > 0 && visited === limit ? tables.latest.getCount(options) : visited;
    return { visited, count };
  } finally {
    currentVisitor = null;
  }
}
