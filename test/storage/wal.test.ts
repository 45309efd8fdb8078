import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WalFailedError, WalMismatchError } from '../../src/storage/errors.js';
import { SimDisk } from '../../src/storage/sim-disk.js';
import { Wal, type WalOptions } from '../../src/storage/wal.js';
import { makeEntries, makeEntry, seededRandom } from './helpers.js';

const DIR = '/data/wal';

function options(disk: SimDisk, extra: Partial<WalOptions> = {}): WalOptions {
  return { disk, dir: DIR, clusterId: 0xc1n, groupId: 0, ...extra };
}

test('group commit: one fsync per batch, none before sync()', () => {
  const disk = new SimDisk(seededRandom(1));
  const { wal } = Wal.open(options(disk));
  const before = disk.stats.fileSyncs;
  for (let batch = 0; batch < 5; batch++) {
    for (let i = 0; i < 10; i++)
      wal.append([makeEntry(batch * 10 + i + 1, 1)], { term: 1, vote: 0n, commit: batch });
    assert.equal(disk.stats.fileSyncs, before + batch, 'append must not fsync');
    wal.sync();
  }
  assert.equal(disk.stats.fileSyncs, before + 5);
  assert.equal(wal.stats.batches, 5);
  assert.equal(wal.stats.records, 100);
  wal.sync(); // nothing buffered: no fsync
  assert.equal(disk.stats.fileSyncs, before + 5);
});

test('append then reopen recovers entries and hard state', () => {
  const disk = new SimDisk(seededRandom(2));
  const { wal } = Wal.open(options(disk));
  wal.append(makeEntries(1, 20, 1), { term: 1, vote: 3n, commit: 5 });
  wal.append(makeEntries(21, 5, 2), { term: 2, vote: 0n, commit: 18 });
  wal.sync();
  wal.close();
  disk.crash();
  const { recovery } = Wal.open(options(disk));
  assert.deepEqual(recovery.entries, [...makeEntries(1, 20, 1), ...makeEntries(21, 5, 2)]);
  assert.deepEqual(recovery.hardState, { term: 2, vote: 0n, commit: 18 });
  assert.equal(recovery.tornTailBytes, 0);
});

test('unsynced appends are lost on crash; synced ones survive', () => {
  const disk = new SimDisk(seededRandom(3));
  const { wal } = Wal.open(options(disk));
  wal.append(makeEntries(1, 3, 1));
  wal.sync();
  wal.append(makeEntries(4, 3, 1));
  disk.crash();
  const { recovery } = Wal.open(options(disk));
  assert.deepEqual(recovery.entries, makeEntries(1, 3, 1));
});

test('conflicting-suffix truncation survives reopen', () => {
  const disk = new SimDisk(seededRandom(4));
  const { wal } = Wal.open(options(disk, { segmentBytesMax: 300 }));
  wal.append(makeEntries(1, 10, 1));
  wal.sync();
  wal.append(makeEntries(6, 2, 2)); // replaces 6..10 with 6..7 at term 2
  wal.sync();
  assert.equal(wal.lastIndex(), 7);
  wal.append(makeEntries(8, 1, 2));
  wal.sync();
  wal.close();
  const reopened = Wal.open(options(disk, { segmentBytesMax: 300 }));
  assert.deepEqual(reopened.recovery.entries, [...makeEntries(1, 5, 1), ...makeEntries(6, 3, 2)]);
  assert.equal(reopened.wal.lastIndex(), 8);
});

test('segment rollover: a full segment is closed and the next one named by sequence and first index', () => {
  const disk = new SimDisk(seededRandom(5));
  const { wal } = Wal.open(options(disk, { segmentBytesMax: 1000 }));
  for (let i = 1; i <= 100; i++) {
    wal.append([makeEntry(i, 1, 40)], { term: 1, vote: 0n, commit: i - 1 });
    wal.sync();
  }
  const names = wal.segmentNames();
  assert.ok(names.length >= 5, `expected several segments, got ${names.length}`);
  assert.equal(names[0], '0000000000000001-0000000000000001.wal');
  assert.match(names[1], /^0000000000000002-[0-9a-f]{16}\.wal$/);
  wal.close();
  const { recovery } = Wal.open(options(disk, { segmentBytesMax: 1000 }));
  assert.deepEqual(recovery.entries, makeEntries(1, 100, 1, 40));
  assert.equal(recovery.hardState.commit, 99);
});

test('releaseTo deletes segments wholly covered by a durable snapshot marker', () => {
  const disk = new SimDisk(seededRandom(6));
  const { wal } = Wal.open(options(disk, { segmentBytesMax: 1000 }));
  for (let i = 1; i <= 100; i++) {
    wal.append([makeEntry(i, 1, 40)], { term: 1, vote: 7n, commit: i });
    wal.sync();
  }
  const before = wal.segmentNames().length;
  assert.throws(() => wal.releaseTo(60), /beyond durable snapshot/);
  wal.saveSnapshotMarker({ index: 60, term: 1, replacesLog: false });
  wal.sync();
  const released = wal.releaseTo(60);
  assert.ok(released > 0 && released < before, `released ${released} of ${before}`);
  const remaining = wal.segmentNames();
  // The first remaining segment may still hold entries ≤ 60, but no deleted one held any > 60.
  assert.ok(Number.parseInt(remaining[1].split('-')[1], 16) - 1 > 60);
  wal.close();
  const { recovery } = Wal.open(options(disk, { segmentBytesMax: 1000 }));
  assert.deepEqual(recovery.marker, { index: 60, term: 1, replacesLog: false });
  assert.deepEqual(recovery.entries, makeEntries(61, 40, 1, 40));
  assert.deepEqual(recovery.hardState, { term: 1, vote: 7n, commit: 100 });
});

test('a snapshot marker that replaces the log drops later entries on replay', () => {
  const disk = new SimDisk(seededRandom(7));
  const { wal } = Wal.open(options(disk));
  wal.append(makeEntries(1, 10, 1));
  wal.saveSnapshotMarker({ index: 30, term: 3, replacesLog: true });
  wal.append(makeEntries(31, 2, 3));
  wal.sync();
  wal.close();
  const { recovery, wal: reopened } = Wal.open(options(disk));
  assert.deepEqual(recovery.marker, { index: 30, term: 3, replacesLog: false });
  assert.deepEqual(recovery.entries, makeEntries(31, 2, 3));
  assert.equal(reopened.lastIndex(), 32);
});

test('a WAL from another cluster or group is refused', () => {
  const disk = new SimDisk(seededRandom(8));
  Wal.open(options(disk)).wal.close();
  assert.throws(() => Wal.open(options(disk, { clusterId: 0xc2n })), WalMismatchError);
  assert.throws(() => Wal.open(options(disk, { groupId: 5 })), WalMismatchError);
});

test('a failed fsync throws, reports nothing durable, and poisons the WAL', () => {
  const disk = new SimDisk(seededRandom(9));
  const { wal } = Wal.open(options(disk));
  wal.append(makeEntries(1, 2, 1));
  wal.sync();
  wal.append(makeEntries(3, 2, 1));
  disk.failNextSyncs(1);
  assert.throws(() => wal.sync(), WalFailedError);
  assert.throws(() => wal.append(makeEntries(5, 1, 1)), WalFailedError);
  assert.throws(() => wal.sync(), WalFailedError);
  disk.crash();
  const { recovery } = Wal.open(options(disk));
  assert.deepEqual(recovery.entries, makeEntries(1, 2, 1));
});

test('slow fsync latency is reported to the caller', () => {
  const disk = new SimDisk(seededRandom(10));
  disk.syncLatencyMs = 25;
  const { wal } = Wal.open(options(disk));
  wal.append(makeEntries(1, 1, 1));
  assert.equal(wal.sync(), 25);
  assert.equal(wal.stats.lastSyncLatencyMs, 25);
});

test('crash with torn writes keeps every synced entry and a contiguous log (seeded)', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = seededRandom(seed);
    const disk = new SimDisk(random);
    const opts = options(disk, { segmentBytesMax: 2000 });
    let { wal } = Wal.open(opts);
    let acked = 0;
    for (let round = 0; round < 4; round++) {
      const batches = 1 + Math.floor(random() * 6);
      for (let b = 0; b < batches; b++) {
        const count = 1 + Math.floor(random() * 8);
        const first = wal.lastIndex() + 1;
        wal.append(makeEntries(first, count, 1, Math.floor(random() * 100)), {
          term: 1,
          vote: 0n,
          commit: first - 1,
        });
        if (random() < 0.7) {
          wal.sync();
          acked = wal.lastIndex();
        }
      }
      disk.crash({ tornWrites: true });
      ({ wal } = Wal.open(opts));
      const recovered = wal.lastIndex();
      assert.ok(recovered >= acked, `seed ${seed}: lost acknowledged ${acked}, recovered ${recovered}`);
      acked = recovered; // recovery fsynced it
    }
  }
});
