// Torn-write and corruption tests on real files (NodeDisk).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { NodeDisk } from '../../src/storage/disk.js';
import { WalCorruptError } from '../../src/storage/errors.js';
import { Wal, type WalOptions } from '../../src/storage/wal.js';
import { makeEntries, makeEntry, makeTempDir, removeDir } from './helpers.js';

const RECORDS = 6;

function options(dir: string): WalOptions {
  return { disk: new NodeDisk(), dir, clusterId: 0xabcn, groupId: 1 };
}

/** Writes RECORDS entries, one sync each; returns the segment path and each record's start offset. */
function writeLog(dir: string): { segment: string; starts: number[]; end: number } {
  const { wal } = Wal.open(options(dir));
  const segment = path.join(dir, wal.segmentNames()[0]);
  const starts: number[] = [];
  for (let i = 1; i <= RECORDS; i++) {
    starts.push(fs.statSync(segment).size);
    wal.append([makeEntry(i, 1, 24)]);
    wal.sync();
  }
  wal.close();
  return { segment, starts, end: fs.statSync(segment).size };
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
    const { wal, recovery } = Wal.open(options(dir));
    assert.deepEqual(recovery.entries, makeEntries(1, RECORDS - 1, 1, 24), `cut at ${cut}`);
    assert.equal(recovery.tornTailBytes, cut - lastStart);
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

test('torn tail: a zero-filled tail (preallocation) is treated as torn', (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const { segment, end } = writeLog(dir);
  fs.truncateSync(segment, end + 4096);
  const { wal, recovery } = Wal.open(options(dir));
  assert.deepEqual(recovery.entries, makeEntries(1, RECORDS, 1, 24));
  assert.equal(recovery.tornTailBytes, 4096);
  assert.equal(fs.statSync(segment).size, end, 'the zero tail is cut before appending');
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
