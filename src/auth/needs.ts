// The key permissions each KV request needs, as etcd's authApplierV3 and checkTxnAuth ask for
// them: Range reads its range; Put writes its key (and reads it for prev_kv); DeleteRange writes
// its range (and reads it for prev_kv); a Txn needs read on every compared key and everything
// its ops need.
//
// Stricter than etcd 3.4 on purpose (docs/auth.md): nested txns are checked like top-level ones.
// etcd 3.4.23 skips them — an unprivileged user's nested put to a key it may not write succeeds
// there (seen against the real binary).

import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../mvcc/types.js';
import type { Need } from './permissions.js';

const EMPTY = new Uint8Array(0);

export function rangeNeeds(range: RangeRequest): Need[] {
  return [{ access: 'read', key: range.key, rangeEnd: range.rangeEnd ?? EMPTY }];
}

export function putNeeds(put: PutRequest): Need[] {
  const needs: Need[] = [{ access: 'write', key: put.key, rangeEnd: EMPTY }];
  if (put.prevKv === true) needs.push({ access: 'read', key: put.key, rangeEnd: EMPTY });
  return needs;
}

export function deleteRangeNeeds(deleteRange: DeleteRangeRequest): Need[] {
  const rangeEnd = deleteRange.rangeEnd ?? EMPTY;
  const needs: Need[] = [{ access: 'write', key: deleteRange.key, rangeEnd }];
  if (deleteRange.prevKv === true) needs.push({ access: 'read', key: deleteRange.key, rangeEnd });
  return needs;
}

export function txnNeeds(txn: TxnRequest): Need[] {
  const needs: Need[] = [];
  for (const compare of txn.compare ?? []) {
    needs.push({ access: 'read', key: compare.key, rangeEnd: compare.rangeEnd ?? EMPTY });
  }
  for (const op of [...(txn.success ?? []), ...(txn.failure ?? [])]) needs.push(...opNeeds(op));
  return needs;
}

function opNeeds(op: RequestOp): Need[] {
  switch (op.type) {
    case 'range':
      return rangeNeeds(op.range);
    case 'put':
      return putNeeds(op.put);
    case 'deleteRange':
      return deleteRangeNeeds(op.deleteRange);
    case 'txn':
      return txnNeeds(op.txn);
  }
}

/** Write on every key attached to a lease (LeaseRevoke; Put with a lease, as etcd's checkLeasePuts). */
export function leaseKeysNeeds(keys: Iterable<Uint8Array>): Need[] {
  const needs: Need[] = [];
  for (const key of keys) needs.push({ access: 'write', key, rangeEnd: EMPTY });
  return needs;
}
