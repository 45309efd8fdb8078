import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Snapshot } from '../../src/raft/types.js';
import { NodeDisk } from '../../src/storage/disk.js';
import { SnapshotCorruptError, SnapshotMissingError } from '../../src/storage/errors.js';
import { SimDisk } from '../../src/storage/sim-disk.js';
import { type SnapshotChunk, SnapshotStore } from '../../src/storage/snapshot-file.js';
import { makeTempDir, removeDir, seededRandom } from './helpers.js';

function snapshotAt(index: number, term: number, dataBytes = 10_000): Snapshot {
  const data = new Uint8Array(dataBytes).map((_, i) => (i * 17 + index) & 0xff);
  return {
    metadata: { index, term, confState: { voters: [1n, 2n, 0xffffffffffffffffn], learners: [9n] } },
    data,
  };
}

test('snapshot save/load round-trip', (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const store = new SnapshotStore({ disk: new NodeDisk(), dir });
  const snapshot = snapshotAt(100, 3);
  const name = store.save(snapshot);
  assert.equal(name, '0000000000000064-0000000000000003.snap');
  assert.deepEqual(store.load(name), snapshot);
  assert.deepEqual(store.loadAt(100, 3), snapshot);
  store.save(snapshotAt(200, 4, 0));
  const latest = store.loadLatest();
  assert.deepEqual(latest?.snapshot, snapshotAt(200, 4, 0));
  assert.throws(() => store.loadAt(150, 3), SnapshotMissingError);
});

test('a corrupt snapshot byte is refused with a typed error naming the file', (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const store = new SnapshotStore({ disk: new NodeDisk(), dir });
  const older = store.save(snapshotAt(50, 2));
  const name = store.save(snapshotAt(100, 3));
  const file = path.join(dir, name);
  const pristine = fs.readFileSync(file);
  for (const offset of [0, 10, 20, 40, 500, pristine.length - 1]) {
    const bytes = Buffer.from(pristine);
    bytes[offset] ^= 0x10;
    fs.writeFileSync(file, bytes);
    assert.throws(
      () => store.loadAt(100, 3),
      (error: unknown) => error instanceof SnapshotCorruptError && error.file === file,
      `flip at ${offset}`,
    );
  }
  fs.writeFileSync(file, pristine.subarray(0, pristine.length - 1));
  assert.throws(() => store.load(name), SnapshotCorruptError);
  // loadLatest falls back to the newest valid one and reports what it skipped.
  const latest = store.loadLatest();
  assert.equal(latest?.name, older);
  assert.equal(latest?.skipped.length, 1);
  assert.equal(latest?.skipped[0].file, file);
});

test('chunked read and install from chunks round-trip', async (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const source = new SnapshotStore({ disk: new NodeDisk(), dir: path.join(dir, 'leader') });
  const target = new SnapshotStore({ disk: new NodeDisk(), dir: path.join(dir, 'follower') });
  const snapshot = snapshotAt(300, 5, 100_000);
  const name = source.save(snapshot);
  const installer = target.beginInstall();
  let chunks = 0;
  for await (const chunk of source.chunks(name, 4096)) {
    installer.write(chunk);
    chunks++;
  }
  assert.ok(chunks > 20);
  const installed = installer.finish();
  assert.equal(installed.name, name);
  assert.deepEqual(installed.metadata, snapshot.metadata);
  assert.deepEqual(target.loadLatest()?.snapshot, snapshot);
});

test('a chunk that fails its checksum is refused', (t) => {
  const dir = makeTempDir();
  t.after(() => removeDir(dir));
  const store = new SnapshotStore({ disk: new NodeDisk(), dir });
  const reader = store.openReader(store.save(snapshotAt(10, 1)));
  const chunk = reader.read(0, 1000);
  reader.close();
  const damaged: SnapshotChunk = { ...chunk, bytes: chunk.bytes.map((b, i) => (i === 5 ? b ^ 1 : b)) };
  const installer = store.beginInstall();
  assert.throws(() => installer.write(damaged), SnapshotCorruptError);
  installer.abort();
});

test('an interrupted install (missing chunks) never becomes the latest snapshot', async () => {
  const disk = new SimDisk(seededRandom(11));
  const source = new SnapshotStore({ disk, dir: '/leader' });
  const target = new SnapshotStore({ disk, dir: '/follower' });
  target.save(snapshotAt(10, 1));
  const name = source.save(snapshotAt(400, 6, 50_000));
  // Missing tail: finish verifies and refuses; nothing is published.
  const partial = target.beginInstall();
  let sent = 0;
  for await (const chunk of source.chunks(name, 8192)) {
    if (sent++ === 3) break;
    partial.write(chunk);
  }
  assert.throws(() => partial.finish(), SnapshotCorruptError);
  assert.equal(target.loadLatest()?.snapshot.metadata.index, 10);
  // Abandoned mid-way (the process dies): the temp file is never listed, and a restart removes it.
  const abandoned = target.beginInstall();
  for await (const chunk of source.chunks(name, 8192)) {
    abandoned.write(chunk);
    break;
  }
  assert.equal(target.loadLatest()?.snapshot.metadata.index, 10);
  disk.syncDir('/follower');
  const restarted = new SnapshotStore({ disk, dir: '/follower' });
  assert.deepEqual(disk.list('/follower'), ['000000000000000a-0000000000000001.snap']);
  assert.equal(restarted.loadLatest()?.snapshot.metadata.index, 10);
});

test('a saved snapshot survives a crash; an unsynced rename would not exist', () => {
  const disk = new SimDisk(seededRandom(12));
  const store = new SnapshotStore({ disk, dir: '/snap' });
  store.save(snapshotAt(20, 2));
  disk.crash();
  assert.equal(new SnapshotStore({ disk, dir: '/snap' }).loadLatest()?.snapshot.metadata.index, 20);
});

test('old snapshots are pruned, keeping snapshotsRetained', () => {
  const disk = new SimDisk(seededRandom(13));
  const store = new SnapshotStore({ disk, dir: '/snap', snapshotsRetained: 3 });
  for (let i = 1; i <= 6; i++) store.save(snapshotAt(i * 10, 1, 100));
  assert.deepEqual(
    store.list().map((info) => info.index),
    [60, 50, 40],
  );
});
