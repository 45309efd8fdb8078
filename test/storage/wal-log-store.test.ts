import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogCompactedError, type LogStore, MemoryLogStore } from '../../src/raft/log-store.js';
import { SeededRng } from '../../src/raft/rng.js';
import type { Entry, Snapshot } from '../../src/raft/types.js';
import { SimDisk } from '../../src/storage/sim-disk.js';
import { SnapshotStore } from '../../src/storage/snapshot-file.js';
import { WalLogStore } from '../../src/storage/wal-log-store.js';
import { makeEntries, seededRandom } from './helpers.js';

function openStore(disk: SimDisk): WalLogStore {
  return WalLogStore.open({
    disk,
    walDir: '/g0/wal',
    snapshots: new SnapshotStore({ disk, dir: '/g0/snap' }),
    clusterId: 1n,
    groupId: 0,
    segmentBytesMax: 2048,
  });
}

function answer<T>(read: () => T): T | string {
  try {
    return read();
  } catch (error) {
    if (error instanceof LogCompactedError) return 'compacted';
    throw error;
  }
}

/** Every answer the core can ask for, compared between the two stores. */
function assertSameAnswers(expected: LogStore, actual: LogStore, context: string): void {
  assert.equal(actual.firstIndex(), expected.firstIndex(), `${context}: firstIndex`);
  assert.equal(actual.lastIndex(), expected.lastIndex(), `${context}: lastIndex`);
  assert.deepEqual(actual.initialState(), expected.initialState(), `${context}: initialState`);
  assert.deepEqual(actual.snapshot().metadata, expected.snapshot().metadata, `${context}: snapshot`);
  const first = expected.firstIndex();
  const last = expected.lastIndex();
  for (let index = Math.max(0, first - 2); index <= last; index++) {
    assert.deepEqual(
      answer(() => actual.term(index)),
      answer(() => expected.term(index)),
      `${context}: term(${index})`,
    );
  }
  for (let lo = Math.max(1, first - 1); lo <= last; lo += 3) {
    for (const maxBytes of [0, 100, 1_000_000]) {
      assert.deepEqual(
        answer(() => actual.entries(lo, last + 1, maxBytes)),
        answer(() => expected.entries(lo, last + 1, maxBytes)),
        `${context}: entries(${lo}, ${last + 1}, ${maxBytes})`,
      );
    }
  }
}

test('WalLogStore satisfies the LogStore contract: same answers as MemoryLogStore, before and after reopen', () => {
  let segmentsReleased = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const rng = new SeededRng(seed);
    const disk = new SimDisk(seededRandom(seed));
    const memory = new MemoryLogStore();
    let store = openStore(disk);
    let term = 1;
    for (let step = 0; step < 60; step++) {
      const context = `seed ${seed} step ${step}`;
      const choice = rng.nextInt(10);
      if (choice < 6) {
        // Append, sometimes over a conflicting suffix (never at or below the snapshot: a
        // snapshot holds only committed entries, which never conflict).
        const last = memory.lastIndex();
        const lowest = Math.max(memory.firstIndex(), memory.snapshot().metadata.index + 1);
        const from = Math.max(lowest, last + 1 - (rng.nextInt(4) === 0 ? rng.nextInt(4) : 0));
        if (from <= last) term++;
        const entries: Entry[] = makeEntries(from, 1 + rng.nextInt(5), term, rng.nextInt(40));
        const hardState = {
          term,
          vote: BigInt(rng.nextInt(3)),
          commit: Math.max(0, memory.firstIndex() - 1),
        };
        memory.append(entries);
        memory.setHardState(hardState);
        store.save(hardState, entries);
        store.sync();
      } else if (choice < 8 && memory.lastIndex() > memory.snapshot().metadata.index) {
        // Local snapshot somewhere in the log, then compaction to or below it.
        const lowest = Math.max(memory.firstIndex(), memory.snapshot().metadata.index + 1);
        const index = lowest + rng.nextInt(memory.lastIndex() - lowest + 1);
        const metadata = {
          index,
          term: memory.term(index),
          confState: { voters: [1n, 2n, 3n], learners: [] },
        };
        const data = new Uint8Array([seed, step]);
        memory.createSnapshot(metadata, data);
        store.createSnapshot(metadata, data);
        const compactTo = index - rng.nextInt(Math.min(3, index - memory.firstIndex() + 1));
        memory.compact(compactTo);
        store.compact(compactTo);
        store.sync();
        if (rng.nextInt(2) === 0) segmentsReleased += store.releaseSegments();
      } else if (choice === 8) {
        // A snapshot from the leader replaces the log.
        term++;
        const index = memory.lastIndex() + rng.nextInt(5) - 1;
        if (index <= memory.snapshot().metadata.index) continue;
        const snapshot: Snapshot = {
          metadata: { index, term, confState: { voters: [1n], learners: [4n] } },
          data: new Uint8Array([index]),
        };
        memory.applySnapshot(snapshot);
        store.applySnapshot(snapshot);
      } else {
        store.close();
        store = openStore(disk);
      }
      assertSameAnswers(memory, store, context);
    }
    store.close();
    disk.crash();
    assertSameAnswers(memory, openStore(disk), `seed ${seed} after crash`);
  }
  assert.ok(segmentsReleased > 10, `the run should release segments (released ${segmentsReleased})`);
});
