// Txn: etcdserver/apply.go (etcd 3.4) Txn, compareToPath, checkRequests, applyTxn.
//
// Every compare, nested ones included, is evaluated first against the store as it was before
// the txn (compareToPath); then the chosen path's puts are checked (ignore_value/ignore_lease
// need an existing key, the lease must exist) and its ranges' revisions are checked; only then
// does anything get written. So a txn either fails with an error and writes nothing, or runs
// completely. Reads inside the txn see its earlier writes; all writes share one revision.

import { applyDeleteRange, applyPut, applyRange, type ReadView } from './apply.js';
import { applyCompares } from './compare.js';
import { CompactedError, FutureRevisionError, KeyNotFoundError, LeaseNotFoundError } from './errors.js';
import { getLatest } from './read.js';
import type { Tables } from './tables.js';
import type { LeaseChecker, PutRequest, RequestOp, ResponseOp, TxnRequest, TxnResponse } from './types.js';
import type { WriteTxn } from './write.js';

/** The outcome of a txn's compares and, for each nested txn on the chosen branch, its own. */
interface TxnPath {
  readonly succeeded: boolean;
  /** Indexed like the chosen branch's ops; set where the op is a txn. */
  readonly nested: (TxnPath | undefined)[];
}

function branch(r: TxnRequest, succeeded: boolean): readonly RequestOp[] {
  return (succeeded ? r.success : r.failure) ?? [];
}

function compareToPath(tables: Tables, revision: number, r: TxnRequest): TxnPath {
  const succeeded = applyCompares(tables, revision, r.compare ?? []);
  const ops = branch(r, succeeded);
  const nested: (TxnPath | undefined)[] = new Array(ops.length);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.type === 'txn') nested[i] = compareToPath(tables, revision, op.txn);
  }
  return { succeeded, nested };
}

/** A txn is read-only when both branches hold only ranges (a nested txn counts as a write). */
export function isTxnReadOnly(r: TxnRequest): boolean {
  for (const op of r.success ?? []) if (op.type !== 'range') return false;
  for (const op of r.failure ?? []) if (op.type !== 'range') return false;
  return true;
}

export interface TxnContext {
  readonly tables: Tables;
  readonly compactRevision: number;
  readonly leases: LeaseChecker | undefined;
}

/**
 * Runs a txn in `txn` (a write txn begun at the current revision). Throws, having written
 * nothing, when a check on the chosen path fails.
 */
export function applyTxn(ctx: TxnContext, txn: WriteTxn, r: TxnRequest): TxnResponse {
  const path = compareToPath(ctx.tables, txn.beginRevision, r);
  if (!isTxnReadOnly(r)) checkPath(ctx, txn.beginRevision, r, path, 'put');
  checkPath(ctx, txn.beginRevision, r, path, 'range');
  const response = runPath(ctx, txn, r, path);
  const revision = txn.hasChanges() ? txn.beginRevision + 1 : txn.beginRevision;
  return { ...response, header: { revision } };
}

function checkPath(
  ctx: TxnContext,
  revision: number,
  r: TxnRequest,
  path: TxnPath,
  kind: 'put' | 'range',
): void {
  const ops = branch(r, path.succeeded);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.type === 'txn') checkPath(ctx, revision, op.txn, path.nested[i]!, kind);
    else if (kind === 'put' && op.type === 'put') checkPut(ctx, op.put);
    else if (kind === 'range' && op.type === 'range') {
      // etcd's checkRange: revision 0 is current; beyond the current one is future; below
      // the compact revision is compacted (negative ones included, unlike a plain Range).
      const wanted = op.range.revision ?? 0;
      if (wanted === 0) continue;
      if (wanted > revision) throw new FutureRevisionError();
      if (wanted < ctx.compactRevision) throw new CompactedError();
    }
  }
}

/** etcd's checkPut: against the store before the txn; ignore_* first, then the lease. */
function checkPut(ctx: TxnContext, r: PutRequest): void {
  if ((r.ignoreValue === true || r.ignoreLease === true) && getLatest(ctx.tables, r.key) === undefined) {
    throw new KeyNotFoundError();
  }
  const lease = r.lease ?? 0n;
  if (lease !== 0n && ctx.leases !== undefined && !ctx.leases.leaseExists(lease))
    throw new LeaseNotFoundError();
}

function runPath(ctx: TxnContext, txn: WriteTxn, r: TxnRequest, path: TxnPath): TxnResponse {
  const ops = branch(r, path.succeeded);
  const responses: ResponseOp[] = new Array(ops.length);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    switch (op.type) {
      case 'range': {
        const view: ReadView = {
          tables: ctx.tables,
          currentRevision: txn.readRevision(),
          compactRevision: ctx.compactRevision,
        };
        responses[i] = { type: 'range', range: applyRange(view, op.range) };
        break;
      }
      case 'put':
        responses[i] = { type: 'put', put: applyPut(ctx.tables, txn, op.put) };
        break;
      case 'deleteRange':
        responses[i] = {
          type: 'deleteRange',
          deleteRange: applyDeleteRange(ctx.tables, txn, op.deleteRange),
        };
        break;
      case 'txn':
        responses[i] = { type: 'txn', txn: runPath(ctx, txn, op.txn, path.nested[i]!) };
        break;
    }
  }
  // Nested txn headers stay at revision 0: etcd fills only the outermost header.
  return { header: { revision: 0 }, succeeded: path.succeeded, responses };
}
