// Torn-write and corruption tests on real files (NodeDisk).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { NodeDisk } from '../../src/storage/disk.js';
import { WalCorruptError } from '../../src/storage/errors.js';
import { endOfContent } from '../../src/storage/segment.js';
import { Wal, type WalOptions } from '../../src/storage/wal.js';
import { makeEntries, makeEntry, makeTempDir, removeDir } from './helpers.js';

const RECORDS = 6;

/** Small segments: each is reserved whole, and the tests rewrite it once per damaged byte. */
const SEGMENT_BYTES = 64 * 1024;

function options(dir: string): WalOptions {
  return { disk: new NodeDisk(), dir, clusterId: 0xabcn, groupId: 1, segmentBytesMax: SEGMENT_BYTES };
}

/** Where the segment's records end: the file itself runs on in reserved zeros. */
function contentBytes(segment: string): number {
  return endOfContent(fs.readFileSync(segment));
}

/**
 * Writes RECORDS entries, one sync each; returns the segment path and each record's start offset.
 * The segment keeps its reserved zero tail: the tests below damage files as a crash would.
 */
function writeLog(dir: string): { segment: string; starts: number[]; end: number } {
  const { wal } = Wal.open(options(dir));
  const segment = path.join(dir, wal.segmentNames()[0]);
  const starts: number[] = [];
  for (let i = 1; i <= RECORDS; i++) {
    starts.push(contentBytes(segment));
    wal.append([makeEntry(i, 1, 24)]);
    wal.sync();
  }
  wal.close();
  return { segment, starts, end: contentBytes(segment) };
}

test('torn tail: truncating anywhere inside the last record recovers the earlier records and appends again', (t) => {
  const root = makeTempDir();
  t.after(() => removeDir(root));
  const pristine = path.join(root, 'pristine');
  const { segment, starts, end } = writeLog(pristine);
  const name = path.basename(segment);
  const lastStart = starts[RECORDS - 1];
  for (let cut = lastStart; cut < end; cut++) {
    const dir = path.join(root, `cut-${cut}`);
    fs.cpSync(pristine, dir, { recursive: true });
    fs.truncateSync(path.join(dir, name), cut);
    const written = endOfContent(fs.readFileSync(path.join(dir, name)));
    const { wal, recovery } = Wal.open(options(dir));
    assert.deepEqual(recovery.entries, makeEntries(1, RECORDS - 1, 1, 24), `cut at ${cut}`);
    // Counted up to the torn record's last non-zero byte: its zeros look like reserved space.
    assert.equal(recovery.tornTailBytes, Math.max(0, written - lastStart));
    wal.append([makeEntry(RECORDS, 2, 24)]);
    wal.sync();
    wal.close();
    const again = Wal.open(options(dir));
    assert.deepEqual(again.recovery.entries, [
      ...makeEntries(1, RECORDS - 1, 1, 24),
      makeEntry(RECORDS, 2, 24),
    ]);
    again.wal.close();
    removeDir(dir);
  }
});

test('torn tail: a bad checksum in the last record with nothing after it is cut', (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const { segment, starts } = writeLog(dir);
  const bytes = fs.readFileSync(segment);
  bytes[starts[RECORDS - 1] + 20] ^= 0x40;
  fs.writeFileSync(segment, bytes);
  const { wal, recovery } = Wal.open(options(dir));
  assert.deepEqual(recovery.entries, makeEntries(1, RECORDS - 1, 1, 24));
  wal.close();
});

test('a zero tail (space reserved ahead of the writes) is where the content ends, not a torn tail', (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const { segment, end } = writeLog(dir);
  assert.ok(fs.statSync(segment).size > end + 4096, 'the segment was reserved beyond its records');
  const { wal, recovery } = Wal.open(options(dir));
  assert.deepEqual(recovery.entries, makeEntries(1, RECORDS, 1, 24));
  assert.equal(recovery.tornTailBytes, 0);
  wal.append([makeEntry(RECORDS + 1, 1, 24)]);
  wal.sync();
  wal.close();
  assert.deepEqual(Wal.open(options(dir)).recovery.entries, makeEntries(1, RECORDS + 1, 1, 24));
});

test('damage before the tail stops recovery with WalCorruptError naming the file and offset', (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const { segment, starts } = writeLog(dir);
  const pristine = fs.readFileSync(segment);
  // Every byte of an earlier record: payload, checksum, type and length fields.
  const victim = 2;
  for (let offset = starts[victim]; offset < starts[victim + 1]; offset++) {
    const bytes = Buffer.from(pristine);
    bytes[offset] ^= 0x01;
    fs.writeFileSync(segment, bytes);
    assert.throws(
      () => Wal.open(options(dir)),
      (error: unknown) =>
        error instanceof WalCorruptError && error.file === segment && error.offsetBytes === starts[victim],
      `flip at ${offset}`,
    );
  }
  fs.writeFileSync(segment, pristine);
  assert.equal(Wal.open(options(dir)).recovery.entries.length, RECORDS);
});

test('segments are reserved whole; a segment rolled over is cut to its records first', (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const small = { ...options(dir), segmentBytesMax: 4096 };
  const { wal } = Wal.open(small);
  for (let i = 1; i <= 200; i++) {
    wal.append([makeEntry(i, 1, 24)]);
    wal.sync();
  }
  const names = wal.segmentNames();
  wal.close();
  assert.ok(names.length > 2, `${names.length} segments`);
  for (const name of names.slice(0, -1)) {
    const bytes = fs.readFileSync(path.join(dir, name));
    assert.equal(bytes.length, endOfContent(bytes), `${name} ends with its last record`);
    assert.ok(bytes.length >= 4096, `${name} reached the segment size`);
  }
  const last = fs.readFileSync(path.join(dir, names[names.length - 1]));
  assert.equal(last.length, 4096, 'the newest segment is reserved whole');
  assert.ok(endOfContent(last) < last.length);
  const { wal: reopened, recovery } = Wal.open(small);
  assert.deepEqual(recovery.entries, makeEntries(1, 200, 1, 24));
  assert.equal(recovery.tornTailBytes, 0);
  reopened.close();
});

test('endOfContent finds the last non-zero byte at any alignment', () => {
  const backing = new Uint8Array(200);
  for (let offset = 0; offset < 9; offset++) {
    for (const length of [0, 1, 7, 8, 9, 16, 63, 100]) {
      for (const last of [-1, 0, 3, length - 9, length - 1]) {
        if (last >= length || last < -1) continue;
        backing.fill(0);
        const view = backing.subarray(offset, offset + length);
        if (last >= 0) view[last] = 0x80;
        assert.equal(endOfContent(view), last + 1, `offset ${offset} length ${length} last ${last}`);
      }
    }
  }
});
