// The Watch service's messages as the gRPC layer sees them: plain objects shaped like etcd's
// protobuf messages loaded by @grpc/proto-loader with { keepCase, longs: String, enums: Number,
// bytes: Buffer, defaults: true, oneofs: true }. int64 fields are decimal strings on both sides;
// requests are parsed here, at the edge, into typed values with exact (bigint) ids.

import type { KeyValue, MvccEvent } from '../mvcc/index.js';

export interface ResponseHeaderMessage {
  readonly cluster_id: string;
  readonly member_id: string;
  readonly revision: string;
  readonly raft_term: string;
}

/** What the node contributes to every header; the watch layer fills in the revision. */
export type HeaderFields = Omit<ResponseHeaderMessage, 'revision'>;

export interface KeyValueMessage {
  readonly key: Buffer;
  readonly create_revision: string;
  readonly mod_revision: string;
  readonly version: string;
  readonly value: Buffer;
  readonly lease: string;
}

export interface EventMessage {
  /** mvccpb.Event.EventType: 0 PUT, 1 DELETE. */
  readonly type: number;
  readonly kv: KeyValueMessage;
  readonly prev_kv: KeyValueMessage | null;
}

export interface WatchResponseMessage {
  readonly header: ResponseHeaderMessage;
  readonly watch_id: string;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly compact_revision: string;
  readonly cancel_reason: string;
  readonly fragment: boolean;
  readonly events: EventMessage[];
}

/** WatchCreateRequest.FilterType. */
export const WatchFilter = { NOPUT: 0, NODELETE: 1 } as const;

export interface WatchCreate {
  /** Never empty: an empty key means "\0", the smallest key (etcd v3rpc). */
  readonly key: Uint8Array;
  /** Empty: the single key. [0]: every key >= key. Otherwise [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  /** 0 = from the current revision + 1. Values beyond 2^53 are clamped (a revision never reached). */
  readonly startRevision: number;
  readonly progressNotify: boolean;
  readonly filterPut: boolean;
  readonly filterDelete: boolean;
  readonly prevKv: boolean;
  /** 0 = assign one. */
  readonly watchId: bigint;
  readonly fragment: boolean;
}

export type WatchRequest =
  | { readonly kind: 'create'; readonly create: WatchCreate }
  | { readonly kind: 'cancel'; readonly watchId: bigint }
  | { readonly kind: 'progress' }
  /** No request_union set: etcd ignores such a request. */
  | { readonly kind: 'none' };

/** A WatchRequest that does not fit the message shape (maps to gRPC InvalidArgument). */
export class WatchRequestError extends Error {
  readonly code = 3;
  constructor(message: string) {
    super(`watch request: ${message}`);
    this.name = 'WatchRequestError';
  }
}

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null;
}

export function parseInt64(value: unknown, field: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) {
    const parsed = BigInt(value);
    if (parsed >= -(1n << 63n) && parsed < 1n << 63n) return parsed;
  }
  throw new WatchRequestError(`${field} is not an int64`);
}

function parseBytes(value: unknown, field: string): Uint8Array {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  throw new WatchRequestError(`${field} is not bytes`);
}

function parseBool(value: unknown, field: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  throw new WatchRequestError(`${field} is not a bool`);
}

function parseFilters(value: unknown): { filterPut: boolean; filterDelete: boolean } {
  let filterPut = false;
  let filterDelete = false;
  if (value === undefined || value === null) return { filterPut, filterDelete };
  if (!Array.isArray(value)) throw new WatchRequestError('filters is not a list');
  for (const filter of value) {
    const name = typeof filter === 'string' ? filter.toUpperCase() : filter;
    if (name === WatchFilter.NOPUT || name === 'NOPUT') filterPut = true;
    else if (name === WatchFilter.NODELETE || name === 'NODELETE') filterDelete = true;
    // etcd's FiltersFromRequest skips unknown filter values; so do we.
  }
  return { filterPut, filterDelete };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

function toRevision(value: bigint): number {
  if (value > MAX_SAFE) return Number.MAX_SAFE_INTEGER;
  if (value < MIN_SAFE) return Number.MIN_SAFE_INTEGER;
  return Number(value);
}

function parseCreate(raw: Fields): WatchCreate {
  const key = parseBytes(raw.key, 'key');
  return {
    key: key.length === 0 ? new Uint8Array([0]) : key,
    rangeEnd: parseBytes(raw.range_end, 'range_end'),
    startRevision: toRevision(parseInt64(raw.start_revision, 'start_revision')),
    progressNotify: parseBool(raw.progress_notify, 'progress_notify'),
    ...parseFilters(raw.filters),
    prevKv: parseBool(raw.prev_kv, 'prev_kv'),
    watchId: parseInt64(raw.watch_id, 'watch_id'),
    fragment: parseBool(raw.fragment, 'fragment'),
  };
}

/** Parses a WatchRequest object from the gRPC layer. */
export function parseWatchRequest(raw: unknown): WatchRequest {
  if (!isObject(raw)) throw new WatchRequestError('not a message');
  // With `oneofs: true` the loader names the set member; without it, find the one present.
  let union = raw.request_union;
  if (union === undefined || union === null) {
    union = ['create_request', 'cancel_request', 'progress_request'].find((name) => isObject(raw[name]));
  }
  switch (union) {
    case 'create_request': {
      const create = raw.create_request;
      return isObject(create) ? { kind: 'create', create: parseCreate(create) } : { kind: 'none' };
    }
    case 'cancel_request': {
      const cancel = raw.cancel_request;
      return isObject(cancel)
        ? { kind: 'cancel', watchId: parseInt64(cancel.watch_id, 'watch_id') }
        : { kind: 'none' };
    }
    case 'progress_request':
      return isObject(raw.progress_request) ? { kind: 'progress' } : { kind: 'none' };
    default:
      return { kind: 'none' };
  }
}

// --- responses ---------------------------------------------------------------------------------

export function keyValueMessage(kv: KeyValue): KeyValueMessage {
  return {
    key: Buffer.from(kv.key.buffer, kv.key.byteOffset, kv.key.byteLength),
    create_revision: String(kv.createRevision),
    mod_revision: String(kv.modRevision),
    version: String(kv.version),
    value: Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength),
    lease: kv.lease.toString(),
  };
}

export function eventMessage(event: MvccEvent, prevKv: KeyValue | undefined): EventMessage {
  return {
    type: event.type,
    kv: keyValueMessage(event.kv),
    prev_kv: prevKv === undefined ? null : keyValueMessage(prevKv),
  };
}
