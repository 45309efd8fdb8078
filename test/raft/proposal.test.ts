// Client proposals: forwarding to the leader and every way a proposal is refused. A refusal is
// always reported (thrown locally, or as a Refusal in the Ready), never silently dropped.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, ProposalRefusedError, Role } from '../../src/raft/index.js';
import { bytes, Cluster, text } from './harness.js';

const ELECTION_TICKS = 10;

test('a follower forwards a proposal to the leader, which commits it', () => {
  const c = new Cluster({ voters: 3 });
  c.elect(1n);
  c.propose(2n, 'via-follower');
  c.processReady(2n);
  assert.ok(c.network.some((m) => m.type === MessageType.Forward && m.from === 2n && m.to === 1n));
  c.stabilize();
  for (const node of c.nodes.values()) assert.deepEqual(node.committedData(), ['via-follower']);
});

test('a single voter commits its own proposal at once: there is no acknowledgement to wait for', () => {
  const c = new Cluster({ voters: 1 });
  const leader = c.elect(1n);
  c.propose(1n, 'alone');
  c.stabilize();
  assert.deepEqual(leader.committedData(), ['alone']);
});

test("proposing on a node that knows no leader throws ProposalRefusedError('no-leader')", () => {
  const c = new Cluster({ voters: 3 });
  assert.throws(
    () => c.propose(1n, 'x'),
    (error: unknown) => error instanceof ProposalRefusedError && error.reason === 'no-leader',
  );
});

test("thesis §3.10 proposals during a leadership transfer are refused as 'transfer-in-progress'", () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  c.cut(1n, 3n); // the TimeoutNow never arrives, so the transfer stays in progress
  leader.raw.transferLeadership(3n);
  c.propose(1n, 'local');
  c.propose(2n, 'forwarded');
  c.stabilize();
  assert.equal(leader.role, Role.Leader);
  const refusals = [...leader.refusals, ...c.node(2n).refusals].map((r) => [
    r.kind,
    text(r.context),
    r.reason,
  ]);
  assert.deepEqual(refusals, [
    ['proposal', 'local', 'transfer-in-progress'],
    ['proposal', 'forwarded', 'transfer-in-progress'],
  ]);
  assert.deepEqual(leader.committedData(), []);
});

test("maxUncommittedBytes: a leader refuses proposals as 'too-many-uncommitted-bytes' until entries commit", () => {
  const c = new Cluster({ voters: 3, config: { maxUncommittedBytes: 100 } });
  const leader = c.elect(1n);
  c.isolate(2n);
  c.isolate(3n);
  leader.raw.propose(new Uint8Array(60).fill(1));
  leader.raw.propose(new Uint8Array(60).fill(2)); // 120 > 100
  c.stabilize();
  assert.deepEqual(
    leader.refusals.map((r) => [r.kind, r.context[0], r.reason]),
    [['proposal', 2, 'too-many-uncommitted-bytes']],
  );
  c.heal();
  c.tick(1n);
  assert.equal(leader.committedData().length, 1, 'the first proposal commits');
  leader.raw.propose(new Uint8Array(60).fill(3));
  c.stabilize();
  assert.equal(leader.refusals.length, 1, 'accepted again once the bytes are committed');
  assert.equal(leader.committedData().length, 2);
});

test('a forwarded proposal that reaches a non-leader is refused back to its origin, not dropped', () => {
  const c = new Cluster({ voters: 3 });
  const oldLeader = c.elect(1n);
  c.propose(2n, 'in-flight');
  c.processReady(2n);
  const [forwarded] = c.take((m) => m.type === MessageType.Forward);
  assert.ok(forwarded !== undefined);
  // Node 1 loses leadership (CheckQuorum) before the forwarded proposal reaches it.
  c.isolate(1n);
  c.tick(1n, 2 * ELECTION_TICKS);
  assert.equal(oldLeader.role, Role.Follower);
  c.rejoin(1n);
  assert.ok(c.deliver(forwarded));
  c.stabilize();
  assert.deepEqual(
    c.node(2n).refusals.map((r) => [r.kind, text(r.context), r.reason]),
    [['proposal', 'in-flight', 'no-leader']],
  );
  assert.deepEqual(bytes('in-flight'), c.node(2n).refusals[0].context);
});
