// Hand-written protobuf encoders for the hottest responses: PutResponse, RangeResponse and
// WatchResponse (one event goes to every watcher of its key, so its bytes are cached per event).
// A plain Range is encoded straight from the stored MVCC records (RangeResponseEncoder):
// no KeyValue object, no decimal strings, no copy of the value before the response buffer.
// protobufjs's path (fromObject, then Long.fromString for every int64 string, then encode) cost
// as much CPU per put as the rest of the response path; these write the same bytes directly.
// They take the same proto objects the handlers return (int64 fields as decimal strings) and
// are checked byte for byte against protobufjs in test/server/fast-codec.test.ts.

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const INITIAL_BYTES = 256;
/** The largest Range scratch buffer kept between calls (one 10,000-key response is ~3 MiB). */
const RANGE_SCRATCH_BYTES_MAX = 16 * 1024 * 1024;
/** Decimal strings shorter than this are below 2^53 and parse exactly as a Number. */
const SAFE_DECIMAL_DIGITS = 15;

import { recordFields } from '../../mvcc/codec.js';
import type { MvccStore } from '../../mvcc/store.js';
import type { RangeRequest } from '../../mvcc/types.js';
import { assert } from '../../raft/assert.js';
import type { HeaderSource, ProtoObject } from './convert.js';

type Fields = Record<string, unknown>;

/** An append-only byte buffer that grows by doubling; one per encode call. */
class Writer {
  length = 0;

  constructor(public buffer: Buffer = Buffer.allocUnsafe(INITIAL_BYTES)) {}

  reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /** A non-negative integer up to 2^53. */
  varint(value: number): void {
    this.reserve(10);
    const b = this.buffer;
    let v = value;
    while (v >= 0x80) {
      b[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.length++] = v;
  }

  bigVarint(value: bigint): void {
    this.reserve(10);
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.buffer[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.length++] = Number(v);
  }

  /** Bytes already encoded (no length prefix). */
  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Reserves room for a length prefix of up to 5 bytes; returns where the message starts. */
  beginMessage(): number {
    this.reserve(5);
    this.length += 5;
    return this.length;
  }

  /** Writes the length of the message begun at `start`, moving its bytes next to the prefix. */
  endMessage(start: number): void {
    const size = this.length - start;
    let prefix = 1;
    for (let v = size; v >= 0x80; v = Math.floor(v / 0x80)) prefix++;
    const at = start - 5;
    this.buffer.copyWithin(at + prefix, start, this.length);
    let v = size;
    let i = at;
    while (v >= 0x80) {
      this.buffer[i++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buffer[i] = v;
    this.length = at + prefix + size;
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** Bytes of `value` (a non-negative integer up to 2^53) as a varint. */
function varintBytes(value: number): number {
  let bytes = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

const tag = (field: number, wire: number): number => field * 8 + wire;

// As protobufjs does, a field is written whenever the object has it, zero or empty included
// (valid proto3, and the bytes stay exactly what they were before these encoders).

/** An int64/uint64 field given as a decimal string (or number). */
function int64Field(w: Writer, field: number, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'number') {
    w.varint(tag(field, WIRE_VARINT));
    if (value >= 0 && Number.isSafeInteger(value)) w.varint(value);
    else w.bigVarint(BigInt(value));
    return;
  }
  const text = String(value);
  w.varint(tag(field, WIRE_VARINT));
  if (text.length > 0 && text.length < SAFE_DECIMAL_DIGITS && text[0] !== '-') w.varint(Number(text));
  else w.raw(largeVarint(text));
}

/**
 * Varints of decimal strings too large for a double, by text. Every response header carries the
 * member's cluster and member ids, which are above 2^53: parsing and shifting them as BigInts
 * took ~20 BigInt allocations per response. Cleared when full, since lease ids pass here too.
 */
const largeVarints = new Map<string, Uint8Array>();
const LARGE_VARINTS_MAX = 64;

function largeVarint(text: string): Uint8Array {
  const cached = largeVarints.get(text);
  if (cached !== undefined) return cached;
  const w = new Writer();
  w.bigVarint(BigInt(text));
  const encoded = Uint8Array.from(w.finish());
  if (largeVarints.size >= LARGE_VARINTS_MAX) largeVarints.clear();
  largeVarints.set(text, encoded);
  return encoded;
}

function bytesField(w: Writer, field: number, value: unknown): void {
  if (value === undefined || value === null) return;
  const bytes = value as Uint8Array;
  w.varint(tag(field, WIRE_BYTES));
  w.bytes(bytes);
}

function stringField(w: Writer, field: number, value: unknown): void {
  if (value === undefined || value === null) return;
  bytesField(w, field, Buffer.from(String(value)));
}

function boolField(w: Writer, field: number, value: unknown): void {
  if (value === undefined || value === null) return;
  w.varint(tag(field, WIRE_VARINT));
  w.varint(value === true ? 1 : 0);
}

function header(w: Writer, field: number, h: unknown): void {
  if (h === undefined || h === null) return;
  const f = h as Fields;
  w.varint(tag(field, WIRE_BYTES));
  const start = w.beginMessage();
  int64Field(w, 1, f.cluster_id);
  int64Field(w, 2, f.member_id);
  int64Field(w, 3, f.revision);
  int64Field(w, 4, f.raft_term);
  w.endMessage(start);
}

function keyValue(w: Writer, field: number, kv: Fields): void {
  w.varint(tag(field, WIRE_BYTES));
  const start = w.beginMessage();
  bytesField(w, 1, kv.key);
  int64Field(w, 2, kv.create_revision);
  int64Field(w, 3, kv.mod_revision);
  int64Field(w, 4, kv.version);
  bytesField(w, 5, kv.value);
  int64Field(w, 6, kv.lease);
  w.endMessage(start);
}

/** etcdserverpb.PutResponse: header = 1, prev_kv = 2. */
export function encodePutResponse(response: unknown): Buffer {
  const r = response as Fields;
  const w = new Writer();
  header(w, 1, r.header);
  if (r.prev_kv !== undefined && r.prev_kv !== null) keyValue(w, 2, r.prev_kv as Fields);
  return w.finish();
}

/**
 * A whole RangeResponse written while MvccStore.visitRange reads: the header first, then one
 * mvccpb.KeyValue (field 2) per stored record, the same bytes keyValue() writes from the
 * converted object (every field, zeros included), then more and count.
 */
export class RangeResponseEncoder {
  /**
   * The buffer the last Range was written in, kept between calls: a response of megabytes grown
   * from a small buffer was copied about once more by the doubling, and allocated anew every
   * call. An encoder takes it (an encoder started meanwhile gets a new one, so none share it)
   * and finish() copies the response out and puts it back.
   */
  private static scratch: Buffer | null = null;
  private readonly w = new Writer(RangeResponseEncoder.takeScratch());

  private static takeScratch(): Buffer | undefined {
    const scratch = RangeResponseEncoder.scratch ?? undefined;
    RangeResponseEncoder.scratch = null;
    return scratch;
  }

  constructor(responseHeader: unknown) {
    header(this.w, 1, responseHeader);
  }

  readonly visit = (record: Uint8Array): void => {
    const recordBytes = record.length;
    const w = this.w;
    const keyBytes = recordFields.keyLength(record);
    const keyStart = recordFields.keyStart;
    const valueStart = keyStart + keyBytes;
    const valueBytes = recordBytes - valueStart;
    const create = recordFields.createRevision(record);
    const mod = recordFields.modRevision(record);
    const version = recordFields.version(record);
    const leaseHigh = recordFields.leaseHigh(record);
    const leaseLow = recordFields.leaseLow(record);
    // Leases below 2^32 are one varint; others (and negative ones) take the 64-bit path.
    const lease = leaseHigh === 0 ? null : (BigInt(leaseHigh) << 32n) | BigInt(leaseLow);
    const leaseBytes = lease === null ? varintBytes(leaseLow) : bigVarintBytes(lease);
    const bodyBytes =
      1 +
      varintBytes(keyBytes) +
      keyBytes +
      1 +
      varintBytes(create) +
      1 +
      varintBytes(mod) +
      1 +
      varintBytes(version) +
      1 +
      varintBytes(valueBytes) +
      valueBytes +
      1 +
      leaseBytes;
    w.reserve(1 + 5 + bodyBytes);
    w.varint(tag(2, WIRE_BYTES));
    w.varint(bodyBytes);
    w.varint(tag(1, WIRE_BYTES));
    w.bytes(record.subarray(keyStart, valueStart));
    w.varint(tag(2, WIRE_VARINT));
    w.varint(create);
    w.varint(tag(3, WIRE_VARINT));
    w.varint(mod);
    w.varint(tag(4, WIRE_VARINT));
    w.varint(version);
    w.varint(tag(5, WIRE_BYTES));
    w.bytes(record.subarray(valueStart, recordBytes));
    w.varint(tag(6, WIRE_VARINT));
    if (lease === null) w.varint(leaseLow);
    else w.bigVarint(lease);
  };

  finish(more: boolean, count: number): Buffer {
    boolField(this.w, 3, more);
    int64Field(this.w, 4, count);
    if (this.w.buffer.length <= RANGE_SCRATCH_BYTES_MAX) RangeResponseEncoder.scratch = this.w.buffer;
    return Buffer.from(this.w.finish());
  }
}

/**
 * A plain Range (MvccStore.visitRange) as a response already encoded (`encoded`, which
 * encodeRangeResponse passes through); null when the request needs the general path
 * (rangeResponse over MvccStore.range).
 */
export function encodedRangeResponse(
  headers: HeaderSource,
  mvcc: MvccStore,
  range: RangeRequest,
): ProtoObject | null {
  // Read and visit in the same synchronous turn: the revision cannot move in between.
  const revision = mvcc.currentRevision();
  const encoder = new RangeResponseEncoder(headers.header(revision));
  const result = mvcc.visitRange(range, encoder.visit);
  if (result === null) return null;
  assert(result.revision === revision, 'a plain range reads the current revision');
  return { encoded: encoder.finish(result.more, result.count) };
}

function bigVarintBytes(value: bigint): number {
  let bytes = 1;
  for (let v = BigInt.asUintN(64, value); v >= 0x80n; v >>= 7n) bytes++;
  return bytes;
}

/**
 * etcdserverpb.RangeResponse: header = 1, kvs = 2, more = 3, count = 4. A response from
 * encodedRangeResponse is already bytes.
 */
export function encodeRangeResponse(response: unknown): Buffer {
  const r = response as Fields;
  if (r.encoded instanceof Buffer) return r.encoded;
  const w = new Writer();
  header(w, 1, r.header);
  const kvs = r.kvs as Fields[] | undefined;
  if (kvs !== undefined) for (const kv of kvs) keyValue(w, 2, kv);
  boolField(w, 3, r.more);
  int64Field(w, 4, r.count);
  return w.finish();
}

/** Encoded mvccpb.Event bodies, per event message object (shared by every watcher it goes to). */
const encodedEvents = new WeakMap<object, Buffer>();

function eventBody(event: Fields): Buffer {
  let body = encodedEvents.get(event);
  if (body === undefined) {
    const w = new Writer();
    if (event.type !== undefined && event.type !== null) {
      w.varint(tag(1, WIRE_VARINT));
      w.varint(Number(event.type));
    }
    if (event.kv !== undefined && event.kv !== null) keyValue(w, 2, event.kv as Fields);
    if (event.prev_kv !== undefined && event.prev_kv !== null) keyValue(w, 3, event.prev_kv as Fields);
    body = Buffer.from(w.finish());
    encodedEvents.set(event, body);
  }
  return body;
}

/**
 * etcdserverpb.WatchResponse: header = 1, watch_id = 2, created = 3, canceled = 4,
 * compact_revision = 5, cancel_reason = 6, fragment = 7, events = 11.
 */
export function encodeWatchResponse(response: unknown): Buffer {
  const r = response as Fields;
  const w = new Writer();
  header(w, 1, r.header);
  int64Field(w, 2, r.watch_id);
  boolField(w, 3, r.created);
  boolField(w, 4, r.canceled);
  int64Field(w, 5, r.compact_revision);
  stringField(w, 6, r.cancel_reason);
  boolField(w, 7, r.fragment);
  const events = r.events as Fields[] | undefined;
  if (events !== undefined) {
    for (const event of events) {
      w.varint(tag(11, WIRE_BYTES));
      w.bytes(eventBody(event));
    }
  }
  return w.finish();
}
