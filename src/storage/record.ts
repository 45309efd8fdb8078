// WAL record framing and payload codecs.
//
// Record layout (little-endian):
//   0  u32  payload length in bytes
//   4  u32  CRC32C over bytes [8, 9 + length): the type byte and the payload
//   8  u8   record type (RecordType; 0 is never valid, so a zero-filled tail never parses)
//   9  …    payload
//
// Payloads are fixed binary layouts (no JSON, no per-field tags): an entry is
//   term u64 | index u64 | type u8 | data…
// Numbers are stored as u64 but must be safe integers (terms and indexes stay below 2^53).

import { assert } from '../raft/assert.js';
import type { Entry, EntryType, HardState } from '../raft/types.js';
import { crc32c } from './crc32c.js';

export const RECORD_HEADER_BYTES = 9;
/** Larger than any entry the raft core admits; a bigger length field means corruption. */
export const RECORD_PAYLOAD_BYTES_MAX = 256 * 1024 * 1024;

export enum RecordType {
  /** First record of every segment: identifies the cluster, group and segment. */
  SegmentHeader = 1,
  Entry = 2,
  HardState = 3,
  /** The log starts after (index, term): entries at or below index are in a snapshot. */
  SnapshotMarker = 4,
}

const RECORD_TYPE_MAX = RecordType.SnapshotMarker;

export function isRecordType(value: number): value is RecordType {
  return value >= 1 && value <= RECORD_TYPE_MAX;
}

const TWO_TO_32 = 0x100000000;

/** A growable byte buffer the WAL encodes a batch into; reused across batches. */
export class WriteBuffer {
  bytes = new Uint8Array(64 * 1024);
  view = new DataView(this.bytes.buffer);
  length = 0;

  reserve(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  clear(): void {
    this.length = 0;
  }

  contents(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

export function writeUint53(view: DataView, offset: number, value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, `not a safe non-negative integer: ${value}`);
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / TWO_TO_32), true);
}

export function readUint53(view: DataView, offset: number): number {
  const hi = view.getUint32(offset + 4, true);
  assert(hi < 0x200000, `u64 field above 2^53 at offset ${offset}`);
  return hi * TWO_TO_32 + view.getUint32(offset, true);
}

/**
 * Starts a record of `type` with room for `payloadBytes`; returns the payload's offset.
 * Call `finishRecord` after writing the payload.
 */
function beginRecord(out: WriteBuffer, type: RecordType, payloadBytes: number): number {
  out.reserve(RECORD_HEADER_BYTES + payloadBytes);
  const start = out.length;
  out.view.setUint32(start, payloadBytes, true);
  out.bytes[start + 8] = type;
  out.length = start + RECORD_HEADER_BYTES + payloadBytes;
  return start + RECORD_HEADER_BYTES;
}

function finishRecord(out: WriteBuffer, payloadOffset: number): void {
  const start = payloadOffset - RECORD_HEADER_BYTES;
  out.view.setUint32(start + 4, crc32c(out.bytes, start + 8, out.length), true);
}

export const ENTRY_FIXED_BYTES = 17;

export function encodeEntry(out: WriteBuffer, entry: Entry): void {
  const at = beginRecord(out, RecordType.Entry, ENTRY_FIXED_BYTES + entry.data.length);
  writeUint53(out.view, at, entry.term);
  writeUint53(out.view, at + 8, entry.index);
  out.bytes[at + 16] = entry.type;
  out.bytes.set(entry.data, at + ENTRY_FIXED_BYTES);
  finishRecord(out, at);
}

export function encodeHardState(out: WriteBuffer, hardState: HardState): void {
  const at = beginRecord(out, RecordType.HardState, 24);
  writeUint53(out.view, at, hardState.term);
  out.view.setBigUint64(at + 8, hardState.vote, true);
  writeUint53(out.view, at + 16, hardState.commit);
  finishRecord(out, at);
}

/** Where the log starts: entries at or below `index` live in a snapshot. */
export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
  /**
   * True when a snapshot from the leader replaced the whole log (entries after `index` are
   * dropped on replay); false for local compaction (entries after `index` are kept).
   */
  readonly replacesLog: boolean;
}

export const EMPTY_MARKER: SnapshotMarker = { index: 0, term: 0, replacesLog: false };

export function encodeSnapshotMarker(out: WriteBuffer, marker: SnapshotMarker): void {
  const at = beginRecord(out, RecordType.SnapshotMarker, 17);
  writeUint53(out.view, at, marker.index);
  writeUint53(out.view, at + 8, marker.term);
  out.bytes[at + 16] = marker.replacesLog ? 1 : 0;
  finishRecord(out, at);
}

/** Identity of a segment: refuses a WAL copied from another cluster or group. */
export interface SegmentHeader {
  readonly clusterId: bigint;
  readonly groupId: number;
  readonly sequence: number;
  /** lastIndex + 1 when the segment was created: every entry in earlier segments is below it. */
  readonly firstIndex: number;
}

/** Bytes "FWAL" on disk: a quick "is this a Flotilla WAL at all" check before the fields. */
const SEGMENT_MAGIC = 0x4c415746;
export const WAL_FORMAT_VERSION = 1;

export function encodeSegmentHeader(out: WriteBuffer, header: SegmentHeader): void {
  const at = beginRecord(out, RecordType.SegmentHeader, 40);
  out.view.setUint32(at, SEGMENT_MAGIC, true);
  out.view.setUint32(at + 4, WAL_FORMAT_VERSION, true);
  out.view.setBigUint64(at + 8, header.clusterId, true);
  out.view.setUint32(at + 16, header.groupId, true);
  out.view.setUint32(at + 20, 0, true); // reserved
  writeUint53(out.view, at + 24, header.sequence);
  // firstIndex is in the file name too; the record keeps a checksummed copy.
  writeUint53(out.view, at + 32, header.firstIndex);
  finishRecord(out, at);
}

/** A parsed record: its payload is a view into the segment's bytes. */
export interface RawRecord {
  readonly type: RecordType;
  readonly payload: DataView;
  readonly payloadBytes: Uint8Array;
}

export type RecordParse =
  | { readonly ok: true; readonly record: RawRecord; readonly endOffset: number }
  | { readonly ok: false; readonly reason: string };

/** Parses the record at `offset` of `bytes`, checking length, type and checksum. */
export function parseRecord(bytes: Uint8Array, view: DataView, offset: number): RecordParse {
  if (bytes.length - offset < RECORD_HEADER_BYTES) return { ok: false, reason: 'partial record header' };
  const payloadLength = view.getUint32(offset, true);
  const type = bytes[offset + 8];
  if (!isRecordType(type)) return { ok: false, reason: `unknown record type ${type}` };
  if (payloadLength > RECORD_PAYLOAD_BYTES_MAX) return { ok: false, reason: `length ${payloadLength}` };
  const end = offset + RECORD_HEADER_BYTES + payloadLength;
  if (end > bytes.length) return { ok: false, reason: 'record extends past end of file' };
  const expected = view.getUint32(offset + 4, true);
  if (crc32c(bytes, offset + 8, end) !== expected) return { ok: false, reason: 'checksum mismatch' };
  const payloadStart = offset + RECORD_HEADER_BYTES;
  const payloadBytes = bytes.subarray(payloadStart, end);
  return {
    ok: true,
    record: {
      type,
      payload: new DataView(bytes.buffer, bytes.byteOffset + payloadStart, payloadLength),
      payloadBytes,
    },
    endOffset: end,
  };
}

/** Payload decoders. They throw `Error` on a malformed payload; the caller adds file and offset. */
export function decodeEntry(record: RawRecord): Entry {
  expectLength(record, ENTRY_FIXED_BYTES, 'entry', true);
  const { payload, payloadBytes } = record;
  const type = payloadBytes[16];
  if (type > 1) throw new Error(`unknown entry type ${type}`);
  return {
    term: readUint53(payload, 0),
    index: readUint53(payload, 8),
    type: type as EntryType,
    // Copy: the segment buffer is released after recovery.
    data: payloadBytes.slice(ENTRY_FIXED_BYTES),
  };
}

export function decodeHardState(record: RawRecord): HardState {
  expectLength(record, 24, 'hard state', false);
  const { payload } = record;
  return {
    term: readUint53(payload, 0),
    vote: payload.getBigUint64(8, true),
    commit: readUint53(payload, 16),
  };
}

export function decodeSnapshotMarker(record: RawRecord): SnapshotMarker {
  expectLength(record, 17, 'snapshot marker', false);
  const flags = record.payloadBytes[16];
  if (flags > 1) throw new Error(`unknown snapshot marker flags ${flags}`);
  return {
    index: readUint53(record.payload, 0),
    term: readUint53(record.payload, 8),
    replacesLog: flags === 1,
  };
}

export function decodeSegmentHeader(record: RawRecord): SegmentHeader {
  expectLength(record, 40, 'segment header', false);
  const { payload } = record;
  if (payload.getUint32(0, true) !== SEGMENT_MAGIC) throw new Error('bad segment magic');
  const version = payload.getUint32(4, true);
  if (version !== WAL_FORMAT_VERSION) throw new Error(`unsupported WAL format version ${version}`);
  return {
    clusterId: payload.getBigUint64(8, true),
    groupId: payload.getUint32(16, true),
    sequence: readUint53(payload, 24),
    firstIndex: readUint53(payload, 32),
  };
}

function expectLength(record: RawRecord, bytes: number, what: string, atLeast: boolean): void {
  const length = record.payloadBytes.length;
  if (atLeast ? length < bytes : length !== bytes) {
    throw new Error(`${what} payload is ${length} bytes, expected ${atLeast ? 'at least ' : ''}${bytes}`);
  }
}
