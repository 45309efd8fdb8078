import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType } from '../../src/raft/types.js';
import { crc32c, crc32cUpdate } from '../../src/storage/crc32c.js';
import {
  decodeEntry,
  decodeHardState,
  decodeSegmentHeader,
  decodeSnapshotMarker,
  encodeEntry,
  encodeHardState,
  encodeSegmentHeader,
  encodeSnapshotMarker,
  parseRecord,
  type RawRecord,
  RecordType,
  WriteBuffer,
} from '../../src/storage/record.js';

function parseAll(out: WriteBuffer): RawRecord[] {
  const bytes = out.contents();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: RawRecord[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const parsed = parseRecord(bytes, view, offset);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    records.push(parsed.record);
    offset = parsed.endOffset;
  }
  return records;
}

test('crc32c matches the standard check value and is incremental', () => {
  const bytes = new TextEncoder().encode('123456789');
  assert.equal(crc32c(bytes), 0xe3069283);
  assert.equal(crc32cUpdate(crc32cUpdate(0, bytes, 0, 4), bytes, 4), 0xe3069283);
  const long = new Uint8Array(1000).map((_, i) => (i * 13) & 0xff);
  let bytewise = 0;
  for (let i = 0; i < long.length; i++) bytewise = crc32cUpdate(bytewise, long, i, i + 1);
  assert.equal(crc32c(long), bytewise);
});

test('record round-trip: entry, hard state, snapshot marker, segment header', () => {
  const out = new WriteBuffer();
  const entry = {
    term: 2 ** 40 + 3,
    index: 2 ** 52 - 1,
    type: EntryType.ConfChange,
    data: new Uint8Array([1, 2, 3]),
  };
  const empty = { term: 1, index: 2, type: EntryType.Normal, data: new Uint8Array(0) };
  const hardState = { term: 7, vote: 0xfedcba9876543210n, commit: 99 };
  const marker = { index: 50, term: 4, replacesLog: true };
  const header = { clusterId: 0xffffffffffffffffn, groupId: 12, sequence: 3, firstIndex: 1001 };
  encodeEntry(out, entry);
  encodeEntry(out, empty);
  encodeHardState(out, hardState);
  encodeSnapshotMarker(out, marker);
  encodeSegmentHeader(out, header);
  const records = parseAll(out);
  assert.deepEqual(
    records.map((record) => record.type),
    [
      RecordType.Entry,
      RecordType.Entry,
      RecordType.HardState,
      RecordType.SnapshotMarker,
      RecordType.SegmentHeader,
    ],
  );
  assert.deepEqual(decodeEntry(records[0]), entry);
  assert.deepEqual(decodeEntry(records[1]), empty);
  assert.deepEqual(decodeHardState(records[2]), hardState);
  assert.deepEqual(decodeSnapshotMarker(records[3]), marker);
  assert.deepEqual(decodeSegmentHeader(records[4]), header);
});

test('CRC detects a flipped bit anywhere in a record', () => {
  const out = new WriteBuffer();
  encodeEntry(out, { term: 3, index: 9, type: EntryType.Normal, data: new Uint8Array([10, 20, 30, 40]) });
  const pristine = out.contents().slice();
  for (let bit = 0; bit < pristine.length * 8; bit++) {
    const bytes = pristine.slice();
    bytes[bit >>> 3] ^= 1 << (bit & 7);
    const parsed = parseRecord(bytes, new DataView(bytes.buffer), 0);
    assert.equal(parsed.ok, false, `flipped bit ${bit} went unnoticed`);
  }
});

test('a zero-filled region never parses as a record', () => {
  const zeros = new Uint8Array(64);
  assert.equal(parseRecord(zeros, new DataView(zeros.buffer), 0).ok, false);
});
