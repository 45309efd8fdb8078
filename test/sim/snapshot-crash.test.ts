// A crash between a compaction snapshot's file sync and the WAL's next fsync, played exactly on
// the simulator's real parts (SimNode: RawNode, WAL and snapshot files on a SimDisk). A follower
// applies entries on a commit-index-only Ready, whose hard state stays unsynced (as in the
// server); the snapshot it then takes is synced on its own. Crashing right there leaves the
// snapshot file ahead of the last durable commit index, with the log reaching it: the state a
// kill -9 left in CI ('invariant violated: applied 965 beyond committed 959' on restart).
// Its sibling: a snapshot from the leader whose file is synced before the WAL marker naming it;
// a crash in between leaves the file ahead of the log's last index.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRng } from '../../src/raft/rng.js';
import type { NodeId, Snapshot } from '../../src/raft/types.js';
import { SimCluster } from '../../src/sim/cluster.js';
import type { SimNode } from '../../src/sim/node.js';
import { EventQueue } from '../../src/sim/queue.js';
import { SnapshotStore } from '../../src/storage/snapshot-file.js';

const VOTERS: readonly NodeId[] = [1n, 2n, 3n];
const KEYS = ['a', 'b', 'c'];
const SNAPSHOT_EVERY_ENTRIES = 8;
/** Writes after the restart: more than a snapshot interval, so the follower compacts again. */
const WRITES_AFTER_RESTART = 2 * SNAPSHOT_EVERY_ENTRIES;
/** Simulated time any one wait may take: far beyond an election plus a few round trips. */
const WAIT_BOUND_MS = 5_000;
const CLIENT_TIMEOUT_MS = 300;

/** Three voters on a network that neither drops nor duplicates, with frequent snapshots. */
function quietCluster(): SimCluster {
  const queue = new EventQueue();
  const cluster = new SimCluster(
    queue,
    new SeededRng(1),
    VOTERS,
    {
      electionTicks: 10,
      heartbeatTicks: 2,
      tickMs: 10,
      maxMessageBytes: 64 * 1024,
      maxInflightMessages: 64,
      snapshotEveryEntries: SNAPSHOT_EVERY_ENTRIES,
      fsyncBaseMs: 4,
      plantedBug: null,
    },
    { dropRate: 0, duplicateRate: 0, delayMinMs: 1, delayMaxMs: 2, spikeRate: 0, spikeMaxMs: 0 },
  );
  for (const id of VOTERS) cluster.node(id).bootstrap(VOTERS);
  for (const id of VOTERS) cluster.node(id).start();
  return cluster;
}

/** Runs events one at a time until `done()` holds after one; fails after WAIT_BOUND_MS. */
function runUntil(cluster: SimCluster, done: () => boolean, what: string): void {
  const deadlineMs = cluster.queue.nowMs + WAIT_BOUND_MS;
  while (!done()) {
    assert.ok(cluster.queue.runNext(deadlineMs), `no ${what} within ${WAIT_BOUND_MS}ms of simulated time`);
  }
}

/** A client writing one key after another through the leader, each after the last answer. */
class Writer {
  written = 0;
  private stopped = false;

  constructor(private readonly cluster: SimCluster) {}

  start(): void {
    const leader = this.cluster.leader();
    if (this.stopped || leader === null) return;
    const value = `v${this.written}`;
    const input = { type: 'write' as const, key: KEYS[this.written % KEYS.length], value };
    this.cluster.submit(0, leader.id, input, CLIENT_TIMEOUT_MS, (outcome) => {
      if (outcome === 'ok') this.written++;
      this.cluster.queue.schedule(1, () => this.start());
    });
  }

  stop(): void {
    this.stopped = true;
  }
}

function snapshotIndex(node: SimNode): number {
  return node.disk.snapshot().metadata.index;
}

test('a follower that crashes after syncing a snapshot file, before the WAL syncs the commit index behind it, restarts from the snapshot and catches up', () => {
  const cluster = quietCluster();
  runUntil(cluster, () => cluster.leader() !== null, 'leader');
  const leader = cluster.leader()!;
  const follower = cluster.node(VOTERS.find((id) => id !== leader.id)!);
  const writer = new Writer(cluster);
  writer.start();

  // Crash in the very step that took the follower's first compaction snapshot.
  runUntil(cluster, () => snapshotIndex(follower) > 1, 'compaction snapshot on the follower');
  follower.crash();
  cluster.invariants.crashed(follower);

  // What the restart finds (follower.disk is the store as recovered from the SimDisk).
  const restoredIndex = snapshotIndex(follower);
  const durableCommit = follower.disk.initialState().hardState.commit;
  assert.ok(
    durableCommit < restoredIndex,
    `the crash should leave the snapshot (${restoredIndex}) ahead of the durable commit index (${durableCommit})`,
  );
  assert.ok(follower.disk.lastIndex() >= restoredIndex, 'the durable log should reach the snapshot');

  follower.start();
  const raft = follower.raw!.raft;
  assert.equal(raft.log.applied, restoredIndex);
  assert.equal(raft.log.committed, restoredIndex, 'what the snapshot holds was committed');

  // The cluster goes on, and the follower converges on the leader's log and state.
  const writtenBefore = writer.written;
  runUntil(cluster, () => writer.written >= writtenBefore + WRITES_AFTER_RESTART, 'writes after the restart');
  writer.stop();
  const committed = leader.raw!.raft.log.committed;
  runUntil(cluster, () => follower.raw!.raft.log.applied >= committed, 'catch-up of the restarted follower');
  assert.ok(snapshotIndex(follower) > restoredIndex, 'the follower should compact again after the restart');
  for (const key of KEYS) assert.equal(follower.machine.get(key), leader.machine.get(key), `key ${key}`);
  for (const id of cluster.acknowledgedWrites) assert.ok(follower.machine.hasApplied(id), `write ${id}`);
});

/** What the leader would send a follower behind its log: its state at its applied index. */
function leaderSnapshot(leader: SimNode): Snapshot {
  const raft = leader.raw!.raft;
  const index = raft.log.applied;
  return {
    metadata: { index, term: raft.log.term(index), confState: raft.membership.toConfState() },
    data: leader.machine.serialize(),
  };
}

test('a follower that crashes after syncing a leader snapshot file, before the WAL marker naming it, restarts from its older snapshot and catches up', () => {
  const cluster = quietCluster();
  runUntil(cluster, () => cluster.leader() !== null, 'leader');
  const leader = cluster.leader()!;
  const follower = cluster.node(VOTERS.find((id) => id !== leader.id)!);
  const others = VOTERS.filter((id) => id !== follower.id);
  cluster.network.partition([follower.id], others);
  const writer = new Writer(cluster);
  writer.start();
  runUntil(cluster, () => writer.written >= SNAPSHOT_EVERY_ENTRIES, 'writes while the follower is cut off');
  writer.stop();

  // Installing a snapshot saves the file (synced) first, then the WAL marker: crash in between.
  const snapshot = leaderSnapshot(leader);
  const olderIndex = snapshotIndex(follower);
  assert.ok(follower.disk.lastIndex() < snapshot.metadata.index, 'the follower should be behind the leader');
  new SnapshotStore({ disk: follower.simDisk, dir: '/node/snap' }).save(snapshot);
  follower.crash();
  cluster.invariants.crashed(follower);

  // Past the log's last index, the file explains nothing the log holds: recovery passes it by.
  assert.equal(snapshotIndex(follower), olderIndex);
  assert.ok(follower.disk.lastIndex() < snapshot.metadata.index);
  follower.start();
  cluster.network.healPartitions();
  const laterWriter = new Writer(cluster);
  laterWriter.start();
  runUntil(cluster, () => laterWriter.written >= WRITES_AFTER_RESTART, 'writes after the restart');
  laterWriter.stop();
  const committed = leader.raw!.raft.log.committed;
  runUntil(cluster, () => follower.raw!.raft.log.applied >= committed, 'catch-up of the restarted follower');
  for (const key of KEYS) assert.equal(follower.machine.get(key), leader.machine.get(key), `key ${key}`);
  for (const id of cluster.acknowledgedWrites) assert.ok(follower.machine.hasApplied(id), `write ${id}`);
});
