// Request checks etcd makes before a request reaches the state machine (etcdserver/api/v3rpc
// key.go: checkRangeRequest, checkPutRequest, checkDeleteRequest, checkTxnRequest,
// checkIntervals). The store runs them too, so a bad entry in the Raft log fails the same way
// on every member without touching the key space. The gRPC layer may call them early.

import {
  DuplicateKeyError,
  EmptyKeyError,
  LeaseProvidedError,
  RequestTooLargeError,
  TooManyOpsError,
  ValueProvidedError,
} from './errors.js';
import { compareBytes, equalBytes, historyPrefixLength, REVISION_KEY_BYTES } from './keys.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './types.js';

/** etcd's default --max-txn-ops. */
export const DEFAULT_MAX_TXN_OPS = 128;

export interface ValidationLimits {
  readonly maxTxnOps: number;
  /** The storage engine's key size limit (escaped history keys must fit). */
  readonly maxKeyBytes: number;
}

function checkKeySize(key: Uint8Array | undefined, limits: ValidationLimits): void {
  // One extra byte: historyBounds builds a bound one byte past the longest history key.
  if (key !== undefined && historyPrefixLength(key) + REVISION_KEY_BYTES + 1 > limits.maxKeyBytes) {
    throw new RequestTooLargeError();
  }
}

export function checkRangeRequest(r: RangeRequest, limits: ValidationLimits): void {
  if (r.key.length === 0) throw new EmptyKeyError();
  checkKeySize(r.key, limits);
  checkKeySize(r.rangeEnd, limits);
}

export function checkPutRequest(r: PutRequest, limits: ValidationLimits): void {
  if (r.key.length === 0) throw new EmptyKeyError();
  if (r.ignoreValue === true && r.value !== undefined && r.value.length !== 0) throw new ValueProvidedError();
  if (r.ignoreLease === true && r.lease !== undefined && r.lease !== 0n) throw new LeaseProvidedError();
  checkKeySize(r.key, limits);
}

export function checkDeleteRequest(r: DeleteRangeRequest, limits: ValidationLimits): void {
  if (r.key.length === 0) throw new EmptyKeyError();
  checkKeySize(r.key, limits);
  checkKeySize(r.rangeEnd, limits);
}

/** checkTxnRequest followed by checkIntervals on both branches, in etcd's order. */
export function checkTxn(r: TxnRequest, limits: ValidationLimits): void {
  checkTxnRequest(r, limits.maxTxnOps, limits);
  checkIntervals(r.success ?? []);
  checkIntervals(r.failure ?? []);
}

function checkTxnRequest(r: TxnRequest, maxTxnOps: number, limits: ValidationLimits): void {
  const compare = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  const opCount = Math.max(compare.length, success.length, failure.length);
  if (opCount > maxTxnOps) throw new TooManyOpsError();
  for (const c of compare) {
    if (c.key.length === 0) throw new EmptyKeyError();
    checkKeySize(c.key, limits);
    checkKeySize(c.rangeEnd, limits);
  }
  // etcd hands nested txns the remaining budget: maxTxnOps - opCount.
  for (const op of success) checkRequestOp(op, maxTxnOps - opCount, limits);
  for (const op of failure) checkRequestOp(op, maxTxnOps - opCount, limits);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number, limits: ValidationLimits): void {
  switch (op.type) {
    case 'range':
      checkRangeRequest(op.range, limits);
      return;
    case 'put':
      checkPutRequest(op.put, limits);
      return;
    case 'deleteRange':
      checkDeleteRequest(op.deleteRange, limits);
      return;
    case 'txn':
      checkTxnRequest(op.txn, maxTxnOps, limits);
      return;
  }
}

// --- checkIntervals ----------------------------------------------------------------------------
// etcd stores deletes as string-affine intervals: [key, rangeEnd) compared as byte strings, or
// the point key when rangeEnd is empty. A rangeEnd of "\0" is taken literally there (not as
// "to the end"), so a delete-everything does not collide with puts. We keep that quirk.

interface Interval {
  readonly start: Uint8Array;
  /** undefined: the point `start`. */
  readonly end: Uint8Array | undefined;
}

function intersectsPoint(intervals: readonly Interval[], point: Uint8Array): boolean {
  for (const iv of intervals) {
    if (iv.end === undefined) {
      if (equalBytes(iv.start, point)) return true;
    } else if (compareBytes(iv.start, point) <= 0 && compareBytes(point, iv.end) < 0) {
      return true;
    }
  }
  return false;
}

/** Key as a map key: latin1 maps bytes to chars one to one. */
function mapKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

interface IntervalResult {
  readonly puts: Set<string>;
  readonly dels: Interval[];
}

/** Rejects a txn branch that puts one key twice or puts a key it also deletes. */
export function checkIntervals(reqs: readonly RequestOp[]): IntervalResult {
  const dels: Interval[] = [];
  // Deletes of this level first, to check the puts of nested txns against them.
  for (const op of reqs) {
    if (op.type !== 'deleteRange') continue;
    const d = op.deleteRange;
    const end = d.rangeEnd !== undefined && d.rangeEnd.length !== 0 ? d.rangeEnd : undefined;
    dels.push({ start: d.key, end });
  }
  const puts = new Set<string>();
  for (const op of reqs) {
    if (op.type !== 'txn') continue;
    const then = checkIntervals(op.txn.success ?? []);
    const otherwise = checkIntervals(op.txn.failure ?? []);
    for (const k of then.puts) {
      if (puts.has(k) || intersectsPoint(dels, Buffer.from(k, 'latin1'))) throw new DuplicateKeyError();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      // The same key in then and else is fine: only one branch runs.
      if (puts.has(k) && !then.puts.has(k)) throw new DuplicateKeyError();
      if (intersectsPoint(dels, Buffer.from(k, 'latin1'))) throw new DuplicateKeyError();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of reqs) {
    if (op.type !== 'put') continue;
    const k = mapKey(op.put.key);
    if (puts.has(k) || intersectsPoint(dels, op.put.key)) throw new DuplicateKeyError();
    puts.add(k);
  }
  return { puts, dels };
}
