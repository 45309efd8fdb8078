// Turns etcd API answers into plain JSON that two servers must agree on exactly, and finds the first
// place where two such answers differ.
//
// What is dropped: header.cluster_id, header.member_id and header.raft_term — identities and terms of
// two independent clusters legitimately differ. Everything else is compared: revisions, kvs, prev_kv,
// count, more, deleted, succeeded, nested responses, error code and message.
//
// What is reordered: LeaseTimeToLive `keys`. etcd collects them by iterating a Go map, so their order
// is random even between two calls to the same server; they are sorted before comparison.
//
// What is compared with a tolerance: LeaseTimeToLive `TTL` (remaining seconds). etcd computes it as
// ceil(expiry − now) at the instant it answers; two servers asked a few milliseconds apart can straddle
// a second boundary, so the remaining TTLs may differ by LEASE_TTL_TOLERANCE_S. granted TTLs (LeaseGrant
// TTL, LeaseTimeToLive grantedTTL) are exact.

import type { OpKind } from './generator.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const LEASE_TTL_TOLERANCE_S = 1;

/** Fields of a ResponseHeader that identify the cluster/member/term rather than the data. */
const IGNORED_HEADER_FIELDS: ReadonlySet<string> = new Set(['cluster_id', 'member_id', 'raft_term']);

/** Paths (as produced by firstDifference) whose integer values may differ by the tolerance. */
const TOLERANT_PATHS: Partial<Record<OpKind, ReadonlySet<string>>> = {
  leaseTimeToLive: new Set(['.response.TTL']),
};

/** Bytes as an unambiguous, readable string: b"a/1", b"k\xff". */
export function displayBytes(buffer: Uint8Array): string {
  let text = '';
  for (const byte of buffer) {
    if (byte === 0x5c) text += '\\\\';
    else if (byte === 0x22) text += '\\"';
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `b"${text}"`;
}

/** Deep-converts a decoded message (or request) to JSON: Buffers shown as b"…", header ids dropped. */
export function normalize(value: unknown, key = ''): Json {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return displayBytes(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map((item) => normalize(item));
  if (typeof value === 'object') {
    const result: { [key: string]: Json } = {};
    for (const [field, fieldValue] of Object.entries(value)) {
      if (key === 'header' && IGNORED_HEADER_FIELDS.has(field)) continue;
      if (fieldValue === undefined) continue;
      result[field] = normalize(fieldValue, field);
    }
    return result;
  }
  throw new Error(`cannot normalize a ${typeof value}`);
}

/** Per-operation normalization on top of normalize(): see the file comment. */
export function normalizeOutcome(kind: OpKind, outcome: unknown): Json {
  const json = normalize(outcome);
  if (kind === 'leaseTimeToLive' && isObject(json) && isObject(json.response)) {
    const keys = json.response.keys;
    if (Array.isArray(keys)) json.response.keys = [...keys].sort(compareJsonStrings);
  }
  return json;
}

export interface Difference {
  /** e.g. ".response.kvs[0].mod_revision" */
  readonly path: string;
  readonly a: Json | undefined;
  readonly b: Json | undefined;
}

/** The first difference between two normalized outcomes of `kind`, in field order; undefined if equal. */
export function firstDifference(kind: OpKind, a: Json, b: Json): Difference | undefined {
  return diff(a, b, '', TOLERANT_PATHS[kind] ?? new Set());
}

function diff(
  a: Json | undefined,
  b: Json | undefined,
  path: string,
  tolerant: ReadonlySet<string>,
): Difference | undefined {
  if (tolerant.has(path) && typeof a === 'string' && typeof b === 'string') {
    const gap = Math.abs(Number(a) - Number(b));
    return gap <= LEASE_TTL_TOLERANCE_S ? undefined : { path, a, b };
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.max(a.length, b.length);
    for (let index = 0; index < length; index++) {
      const found = diff(a[index], b[index], `${path}[${index}]`, tolerant);
      if (found) return found;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const field of fields) {
      const found = diff(a[field], b[field], `${path}.${field}`, tolerant);
      if (found) return found;
    }
    return undefined;
  }
  return a === b ? undefined : { path, a, b };
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compareJsonStrings(left: Json, right: Json): number {
  const l = String(left);
  const r = String(right);
  return l < r ? -1 : l > r ? 1 : 0;
}
