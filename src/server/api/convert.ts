// Conversions between etcd's protobuf messages, as @grpc/proto-loader hands them over
// (snake_case fields, bytes as Buffer, int64 as decimal strings, oneofs named), and the MVCC
// layer's types. Parsing happens here, at the edge: a value that does not fit is an
// InvalidArgument error, never a lossy number.

import {
  type Compare,
  type DeleteRangeRequest,
  type KeyValue,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type ResponseOp,
  SortOrder,
  SortTarget,
  type TxnRequest,
  type TxnResponse,
} from '../../mvcc/types.js';
import { GrpcError, Status } from './errors.js';

export type ProtoObject = Record<string, unknown>;

const EMPTY = Buffer.alloc(0);

function bytes(value: unknown): Uint8Array {
  if (value === undefined || value === null) return EMPTY;
  if (value instanceof Uint8Array) return value;
  throw new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: bad bytes field');
}

/** int64 as proto-loader gives it (string with `longs: String`), to a safe JS number. */
export function int64(value: unknown): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n))
    throw new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: integer out of range');
  return n;
}

/** int64 ids (leases) stay exact. */
export function int64Id(value: unknown): bigint {
  if (value === undefined || value === null || value === '') return 0n;
  try {
    return BigInt(value as string | number);
  } catch {
    throw new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: bad integer');
  }
}

function bool(value: unknown): boolean {
  return value === true;
}

function sortOrder(value: unknown): SortOrder {
  const n = Number(value ?? 0);
  return n === 1 ? SortOrder.ASCEND : n === 2 ? SortOrder.DESCEND : SortOrder.NONE;
}

function sortTarget(value: unknown): SortTarget {
  const n = Number(value ?? 0);
  if (n >= 0 && n <= 4) return n as SortTarget;
  return SortTarget.KEY;
}

/**
 * How a range_end that is present but empty reads. In etcd (Go) it is a non-nil empty slice,
 * which the index treats as "no upper bound" — but only where the request is served without a
 * trip through Raft (Range, read-only Txn); re-encoding for Raft drops it, leaving the single key.
 */
export type EmptyRangeEnd = 'unbounded' | 'single-key';

const ZERO_BYTE = new Uint8Array([0]);

export function rangeRequest(r: ProtoObject, emptyRangeEnd: EmptyRangeEnd = 'single-key'): RangeRequest {
  const presentButEmpty = r.range_end instanceof Uint8Array && r.range_end.byteLength === 0;
  return {
    key: bytes(r.key),
    rangeEnd: presentButEmpty && emptyRangeEnd === 'unbounded' ? ZERO_BYTE : bytes(r.range_end),
    limit: int64(r.limit),
    revision: int64(r.revision),
    sortOrder: sortOrder(r.sort_order),
    sortTarget: sortTarget(r.sort_target),
    serializable: bool(r.serializable),
    keysOnly: bool(r.keys_only),
    countOnly: bool(r.count_only),
    minModRevision: int64(r.min_mod_revision),
    maxModRevision: int64(r.max_mod_revision),
    minCreateRevision: int64(r.min_create_revision),
    maxCreateRevision: int64(r.max_create_revision),
  };
}

export function putRequest(r: ProtoObject): PutRequest {
  return {
    key: bytes(r.key),
    value: bytes(r.value),
    lease: int64Id(r.lease),
    prevKv: bool(r.prev_kv),
    ignoreValue: bool(r.ignore_value),
    ignoreLease: bool(r.ignore_lease),
  };
}

export function deleteRangeRequest(r: ProtoObject): DeleteRangeRequest {
  return { key: bytes(r.key), rangeEnd: bytes(r.range_end), prevKv: bool(r.prev_kv) };
}

function compare(c: ProtoObject): Compare {
  return {
    key: bytes(c.key),
    rangeEnd: bytes(c.range_end),
    target: Number(c.target ?? 0) as Compare['target'],
    result: Number(c.result ?? 0) as Compare['result'],
    version: c.target_union === 'version' ? int64(c.version) : 0,
    createRevision: c.target_union === 'create_revision' ? int64(c.create_revision) : 0,
    modRevision: c.target_union === 'mod_revision' ? int64(c.mod_revision) : 0,
    value: c.target_union === 'value' ? bytes(c.value) : EMPTY,
    lease: c.target_union === 'lease' ? int64Id(c.lease) : 0n,
  };
}

function requestOp(op: ProtoObject, emptyRangeEnd: EmptyRangeEnd): RequestOp {
  switch (op.request) {
    case 'request_range':
      return { type: 'range', range: rangeRequest(op.request_range as ProtoObject, emptyRangeEnd) };
    case 'request_put':
      return { type: 'put', put: putRequest(op.request_put as ProtoObject) };
    case 'request_delete_range':
      return { type: 'deleteRange', deleteRange: deleteRangeRequest(op.request_delete_range as ProtoObject) };
    case 'request_txn':
      return { type: 'txn', txn: txnRequest(op.request_txn as ProtoObject, emptyRangeEnd) };
    default:
      // etcd: an empty RequestOp fails the txn with "key not found" (checkRequestOp).
      throw new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: key not found');
  }
}

function list(value: unknown): ProtoObject[] {
  return Array.isArray(value) ? (value as ProtoObject[]) : [];
}

export function txnRequest(r: ProtoObject, emptyRangeEnd: EmptyRangeEnd = 'single-key'): TxnRequest {
  return {
    compare: list(r.compare).map(compare),
    success: list(r.success).map((op) => requestOp(op, emptyRangeEnd)),
    failure: list(r.failure).map((op) => requestOp(op, emptyRangeEnd)),
  };
}

// ---- responses --------------------------------------------------------------------------------

export function keyValue(kv: KeyValue): ProtoObject {
  return {
    key: kv.key,
    create_revision: String(kv.createRevision),
    mod_revision: String(kv.modRevision),
    version: String(kv.version),
    value: kv.value,
    lease: kv.lease.toString(),
  };
}

export interface HeaderSource {
  header(revision: number): ProtoObject;
}

export function rangeResponse(
  h: HeaderSource,
  r: { header: { revision: number }; kvs: KeyValue[]; more: boolean; count: number },
): ProtoObject {
  return {
    header: h.header(r.header.revision),
    kvs: r.kvs.map(keyValue),
    more: r.more,
    count: String(r.count),
  };
}

/** Headers inside a txn carry only the revision, as in etcd (the server fills only the outer one). */
const NESTED: HeaderSource = {
  header: (revision) => ({ cluster_id: '0', member_id: '0', revision: String(revision), raft_term: '0' }),
};

function responseOp(h: HeaderSource, op: ResponseOp): ProtoObject {
  switch (op.type) {
    case 'range':
      return { response: 'response_range', response_range: rangeResponse(h, op.range) };
    case 'put':
      return {
        response: 'response_put',
        response_put: {
          header: h.header(op.put.header.revision),
          prev_kv: op.put.prevKv ? keyValue(op.put.prevKv) : null,
        },
      };
    case 'deleteRange':
      return {
        response: 'response_delete_range',
        response_delete_range: {
          header: h.header(op.deleteRange.header.revision),
          deleted: String(op.deleteRange.deleted),
          prev_kvs: op.deleteRange.prevKvs.map(keyValue),
        },
      };
    case 'txn':
      return { response: 'response_txn', response_txn: txnResponse(h, op.txn) };
  }
}

export function txnResponse(h: HeaderSource, r: TxnResponse): ProtoObject {
  return {
    header: h.header(r.header.revision),
    succeeded: r.succeeded,
    responses: r.responses.map((op) => responseOp(NESTED, op)),
  };
}
