// The Ready contract documented at the top of src/raft/raw-node.ts: what may leave before the
// fsync, what only after, and that committed entries handed out are always durable.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType, InvariantError, MessageType, message } from '../../src/raft/index.js';
import { bytes, Cluster } from './harness.js';

/** Messages that promise durable state (a vote, an acknowledged entry). */
const AFTER_PERSIST = new Set([
  MessageType.Vote,
  MessageType.VoteResponse,
  MessageType.AppendResponse,
  MessageType.HeartbeatResponse,
]);

/** Runs a cluster through pre-vote, election, replication and heartbeats. */
function busyCluster(): Cluster {
  const c = new Cluster({ voters: 3 });
  c.elect(1n);
  c.propose(1n, 'a');
  c.propose(2n, 'b');
  c.stabilize();
  c.tick(1n, 3);
  return c;
}

test('Ready contract: vote requests, vote grants and append/heartbeat acknowledgements come in messagesAfterPersist', () => {
  const c = busyCluster();
  const seen = new Set<MessageType>();
  for (const node of c.nodes.values()) {
    for (const rd of node.readies) {
      for (const m of rd.messages) {
        assert.ok(!AFTER_PERSIST.has(m.type), `${MessageType[m.type]} released before the persist step`);
      }
      for (const m of rd.messagesAfterPersist) seen.add(m.type);
    }
  }
  assert.deepEqual(seen, AFTER_PERSIST, 'every kind was exercised');
});

test("Ready contract: a leader's appends and heartbeats come in messages (they may precede its own fsync)", () => {
  const c = busyCluster();
  const leader = c.node(1n);
  const seen = new Set<MessageType>();
  for (const rd of leader.readies) {
    for (const m of rd.messages) seen.add(m.type);
    for (const m of rd.messagesAfterPersist) {
      assert.ok(
        m.type !== MessageType.Append && m.type !== MessageType.Heartbeat,
        `${MessageType[m.type]} held back until after the persist step`,
      );
    }
  }
  assert.ok(seen.has(MessageType.Append) && seen.has(MessageType.Heartbeat));
});

test('Ready contract: ready() called again before advance() throws', () => {
  const c = new Cluster({ voters: 3 });
  const raw = c.node(1n).raw;
  raw.campaign();
  assert.equal(raw.hasReady(), true);
  const rd = raw.ready();
  assert.equal(raw.hasReady(), false, 'no Ready is offered while one is outstanding');
  assert.throws(() => raw.ready(), InvariantError);
  raw.advance(rd);
});

test('Ready contract: committedEntries never contain entries not yet persisted and advanced', () => {
  const c = new Cluster({ voters: 3 });
  const follower = c.node(3n);
  // The leader already committed index 2 elsewhere; node 3 learns the entry and its commit at once.
  follower.raw.step(
    message({
      type: MessageType.Append,
      from: 1n,
      to: 3n,
      term: 2,
      index: 1,
      logTerm: 1,
      entries: [{ index: 2, term: 2, type: EntryType.Normal, data: bytes('x') }],
      commit: 2,
    }),
  );
  const first = follower.raw.ready();
  assert.deepEqual(
    first.entries.map((e) => e.index),
    [2],
  );
  assert.equal(first.hardState?.commit, 2);
  assert.deepEqual(first.committedEntries, [], 'index 2 is committed but not yet durable here');
  follower.store.append(first.entries);
  follower.store.setHardState(first.hardState!);
  follower.raw.advance(first);
  const second = follower.raw.ready();
  assert.deepEqual(
    second.committedEntries.map((e) => e.index),
    [2],
  );
  follower.raw.advance(second);
});
