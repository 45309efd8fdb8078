// The stored form of one key-value revision, shared by the `latest` and `rev` tables so a put
// encodes once and writes the same bytes twice. Hand-rolled fixed layout rather than msgpack:
// it is on the apply hot path, keeps lease ids exact as int64, and is byte-for-byte
// deterministic (the HashKV of two members depends on it only through the decoded fields).
//
//   offset  size  field
//   0       1     flags (bit 0: tombstone)
//   1       8     create revision (u64 BE)
//   9       8     mod revision (u64 BE)
//   17      8     version (u64 BE)
//   25      8     lease id (i64 BE)
//   33      4     key length (u32 BE)
//   37      k     key
//   37+k    rest  value

import { assert } from '../raft/assert.js';
import { readUint64, writeUint64 } from './keys.js';
import type { KeyValue } from './types.js';

const HEADER_BYTES = 37;
const FLAG_TOMBSTONE = 1;

export function encodeRecord(kv: KeyValue, tombstone: boolean): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + kv.key.length + kv.value.length);
  out[0] = tombstone ? FLAG_TOMBSTONE : 0;
  writeUint64(out, kv.createRevision, 1);
  writeUint64(out, kv.modRevision, 9);
  writeUint64(out, kv.version, 17);
  out.writeBigInt64BE(kv.lease, 25);
  out.writeUInt32BE(kv.key.length, 33);
  out.set(kv.key, HEADER_BYTES);
  out.set(kv.value, HEADER_BYTES + kv.key.length);
  return out;
}

export function isTombstoneRecord(record: Buffer): boolean {
  return (record[0]! & FLAG_TOMBSTONE) !== 0;
}

/** Decodes a record. `record` must be a buffer lmdb-js copied for us (binary encoding does). */
export function decodeRecord(record: Buffer): KeyValue {
  assert(record.length >= HEADER_BYTES, 'mvcc record shorter than its header');
  const keyLength = record.readUInt32BE(33);
  assert(HEADER_BYTES + keyLength <= record.length, 'mvcc record key overruns the record');
  return {
    key: record.subarray(HEADER_BYTES, HEADER_BYTES + keyLength),
    createRevision: readUint64(record, 1),
    modRevision: readUint64(record, 9),
    version: readUint64(record, 17),
    value: record.subarray(HEADER_BYTES + keyLength),
    lease: record.readBigInt64BE(25),
  };
}

/**
 * The fields of a record read in place, for encoders that write a response straight from the
 * stored bytes (MvccStore.visitRange): no object, no copy. Revisions and versions are below 2^53.
 */
export const recordFields = {
  keyStart: HEADER_BYTES,
  keyLength: (record: Uint8Array): number => readUint32(record, 33),
  createRevision: (record: Uint8Array): number => readUint32(record, 1) * TWO_POW_32 + readUint32(record, 5),
  modRevision: (record: Uint8Array): number => readUint32(record, 9) * TWO_POW_32 + readUint32(record, 13),
  version: (record: Uint8Array): number => readUint32(record, 17) * TWO_POW_32 + readUint32(record, 21),
  /** The lease id's high 32 bits, signed: 0 for leases below 2^32 (and for no lease). */
  leaseHigh: (record: Uint8Array): number => readUint32(record, 25) | 0,
  leaseLow: (record: Uint8Array): number => readUint32(record, 29),
} as const;

const TWO_POW_32 = 2 ** 32;

function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

/** The lease id of a record without decoding the rest. */
export function recordLease(record: Buffer): bigint {
  return record.readBigInt64BE(25);
}

const EMPTY = new Uint8Array(0);

/** The kv of a DELETE event / tombstone: only the key and the deleting revision (etcd). */
export function tombstoneKeyValue(key: Uint8Array, modRevision: number): KeyValue {
  return { key, createRevision: 0, modRevision, version: 0, value: EMPTY, lease: 0n };
}
