// Linearizable reads with ReadIndex (dissertation §6.4) and the lease option (§6.4.1).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MemoryLogStore,
  MessageType,
  RaftConfigError,
  RawNode,
  Role,
  SeededRng,
} from '../../src/raft/index.js';
import { bytes, Cluster, text } from './harness.js';

const ELECTION_TICKS = 10;

test('thesis §6.4 a safe ReadIndex is answered only after a quorum acknowledges a heartbeat carrying it', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  c.dropIf = (m) => m.type === MessageType.HeartbeatResponse;
  leader.raw.readIndex(bytes('r1'));
  c.stabilize();
  const carrying = c.sent.filter((m) => m.type === MessageType.Heartbeat && text(m.context) === 'r1');
  assert.equal(carrying.length, 2, 'a heartbeat round carries the read context');
  assert.equal(leader.readStates.length, 0, 'no acknowledgement yet: no answer');
  c.dropIf = null;
  c.tick(1n); // the next heartbeat round carries the context again and is acknowledged
  assert.deepEqual(
    leader.readStates.map((r) => [r.index, text(r.context)]),
    [[2, 'r1']],
  );
});

test('thesis §6.4 a ReadIndex on a follower is answered through the leader', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  const follower = c.node(2n);
  follower.raw.readIndex(bytes('r2'));
  c.stabilize();
  assert.ok(c.sent.some((m) => m.type === MessageType.ReadIndex && m.from === 2n && m.to === 1n));
  assert.ok(c.sent.some((m) => m.type === MessageType.ReadIndexResponse && m.to === 2n));
  assert.deepEqual(
    follower.readStates.map((r) => [r.index, text(r.context)]),
    [[leader.raw.status().commit, 'r2']],
  );
  assert.deepEqual(leader.readStates, []);
});

test('thesis §6.4 a new leader defers ReadIndex until it has committed an entry of its own term', () => {
  const c = new Cluster({ voters: 3 });
  c.dropIf = (m) => m.type === MessageType.Append && m.from === 1n; // the no-op cannot commit yet
  const leader = c.elect(1n);
  leader.raw.readIndex(bytes('r3'));
  c.tick(1n, 3);
  assert.equal(leader.raw.status().commit, 1);
  assert.equal(leader.readStates.length, 0, 'its commit index (1) may be stale: no answer');
  assert.ok(!c.sent.some((m) => m.type === MessageType.Heartbeat && text(m.context) === 'r3'));
  c.dropIf = null;
  c.tick(1n);
  assert.deepEqual(
    leader.readStates.map((r) => [r.index, text(r.context)]),
    [[2, 'r3']],
    'answered at the no-op of its term',
  );
  assert.equal(leader.store.term(2), leader.term);
});

test('thesis §6.4 an isolated leader never answers a ReadIndex, and refuses it when it steps down', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  c.isolate(1n);
  leader.raw.readIndex(bytes('r4'));
  c.tick(1n, 3 * ELECTION_TICKS);
  assert.equal(leader.role, Role.Follower);
  assert.deepEqual(leader.readStates, []);
  assert.deepEqual(
    leader.refusals.map((r) => [r.kind, text(r.context), r.reason]),
    [['read', 'r4', 'no-leader']],
  );
});

test("thesis §6.4.1 readOnly 'lease-based' without checkQuorum is rejected by config validation", () => {
  assert.throws(
    () =>
      new RawNode({
        id: 1n,
        logStore: new MemoryLogStore(),
        rng: new SeededRng(1),
        readOnly: 'lease-based',
        checkQuorum: false,
      }),
    (error: unknown) => error instanceof RaftConfigError && /lease-based/.test(error.message),
  );
});
