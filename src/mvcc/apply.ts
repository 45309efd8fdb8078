// The single-request appliers: etcdserver/apply.go (applierV3backend) Range, Put and
// DeleteRange, on top of read.ts and write.ts. Txn lives in txn.ts and uses these.

import { CompactedError, FutureRevisionError, KeyNotFoundError, LeaseNotFoundError } from './errors.js';
import { compareBytes, keyRange } from './keys.js';
import { getLatest, rangeKeys } from './read.js';
import type { Tables } from './tables.js';
import {
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KeyValue,
  type LeaseChecker,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  SortOrder,
  SortTarget,
} from './types.js';
import type { WriteTxn } from './write.js';

const EMPTY = new Uint8Array(0);

export interface ReadView {
  readonly tables: Tables;
  /** The revision reads see (inside a write txn: including its own writes). */
  readonly currentRevision: number;
  readonly compactRevision: number;
}

/** etcd's Range: mvcc rangeKeys, then the mod/create filters, sort, limit and keys_only. */
export function applyRange(view: ReadView, r: RangeRequest): RangeResponse {
  const needsAll =
    (r.sortOrder ?? SortOrder.NONE) !== SortOrder.NONE ||
    (r.minModRevision ?? 0) !== 0 ||
    (r.maxModRevision ?? 0) !== 0 ||
    (r.minCreateRevision ?? 0) !== 0 ||
    (r.maxCreateRevision ?? 0) !== 0;
  const requestLimit = r.limit ?? 0;
  // Sorting and filtering need every match; otherwise fetch one extra to learn `more`.
  const fetchLimit = needsAll || requestLimit <= 0 ? 0 : requestLimit + 1;

  const current = view.currentRevision;
  let revision = r.revision ?? 0;
  if (revision > current) throw new FutureRevisionError();
  if (revision <= 0) revision = current;
  if (revision < view.compactRevision) throw new CompactedError();

  const result = rangeKeys(
    view.tables,
    keyRange(r.key, r.rangeEnd),
    revision,
    current,
    fetchLimit,
    r.countOnly === true,
  );
  let kvs = result.kvs;
  // Filters prune the key-values but, as in etcd, leave count alone.
  const maxMod = r.maxModRevision ?? 0;
  const minMod = r.minModRevision ?? 0;
  const maxCreate = r.maxCreateRevision ?? 0;
  const minCreate = r.minCreateRevision ?? 0;
  if (maxMod !== 0) kvs = kvs.filter((kv) => kv.modRevision <= maxMod);
  if (minMod !== 0) kvs = kvs.filter((kv) => kv.modRevision >= minMod);
  if (maxCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision <= maxCreate);
  if (minCreate !== 0) kvs = kvs.filter((kv) => kv.createRevision >= minCreate);

  sortKeyValues(kvs, r.sortOrder ?? SortOrder.NONE, r.sortTarget ?? SortTarget.KEY);

  let more = false;
  if (requestLimit > 0 && kvs.length > requestLimit) {
    kvs = kvs.slice(0, requestLimit);
    more = true;
  }
  if (r.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { header: { revision: current }, kvs, more, count: result.count };
}

function sortKeyValues(kvs: KeyValue[], requestedOrder: SortOrder, target: SortTarget): void {
  let order = requestedOrder;
  // etcd: results already come in ascending key order, so a non-key target without an order
  // sorts ascending.
  if (target !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
  if (order === SortOrder.NONE) return;
  const compare = sortComparator(target);
  // Array.prototype.sort is stable; ties keep ascending key order. Go's sort.Sort is stable for
  // up to 12 elements (insertion sort) and may order ties differently beyond that.
  if (order === SortOrder.ASCEND) kvs.sort(compare);
  else if (order === SortOrder.DESCEND) kvs.sort((a, b) => compare(b, a));
}

function sortComparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.VERSION:
      return (a, b) => a.version - b.version;
    case SortTarget.CREATE:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.MOD:
      return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.VALUE:
      return (a, b) => compareBytes(a.value, b.value);
    default:
      return (a, b) => compareBytes(a.key, b.key);
  }
}

/** The lease check of a put applied on its own (before the key checks, as in etcd's Put). */
export function checkPutLease(r: PutRequest, leases: LeaseChecker | undefined): void {
  const lease = r.lease ?? 0n;
  if (lease !== 0n && leases !== undefined && !leases.leaseExists(lease)) throw new LeaseNotFoundError();
}

/** etcd's Put inside a write txn. Fails only before writing anything. */
export function applyPut(tables: Tables, txn: WriteTxn, r: PutRequest): PutResponse {
  const ignoreValue = r.ignoreValue === true;
  const ignoreLease = r.ignoreLease === true;
  const previous = ignoreValue || ignoreLease || r.prevKv === true ? getLatest(tables, r.key) : undefined;
  if ((ignoreValue || ignoreLease) && previous === undefined) throw new KeyNotFoundError();
  const value = ignoreValue ? previous!.value : (r.value ?? EMPTY);
  const lease = ignoreLease ? previous!.lease : (r.lease ?? 0n);
  const revision = txn.put(r.key, value, lease);
  if (r.prevKv === true && previous !== undefined) return { header: { revision }, prevKv: previous };
  return { header: { revision } };
}

/** etcd's DeleteRange inside a write txn. Deleting nothing leaves the revision alone. */
export function applyDeleteRange(tables: Tables, txn: WriteTxn, r: DeleteRangeRequest): DeleteRangeResponse {
  const range = keyRange(r.key, r.rangeEnd);
  let prevKvs: KeyValue[] = [];
  if (r.prevKv === true) {
    const revision = txn.readRevision();
    prevKvs = rangeKeys(tables, range, revision, revision, 0, false).kvs;
  }
  const deleted = txn.deleteRange(range);
  const revision = deleted !== 0 || txn.hasChanges() ? txn.beginRevision + 1 : txn.beginRevision;
  return { header: { revision }, deleted, prevKvs };
}
