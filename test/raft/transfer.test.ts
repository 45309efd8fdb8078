// Leadership transfer (dissertation §3.10).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Message, MessageType, Role } from '../../src/raft/index.js';
import { Cluster } from './harness.js';

const isAppendTo = (to: bigint) => (m: Message) => m.type === MessageType.Append && m.to === to;

test('thesis §3.10 the transfer target gets TimeoutNow once caught up, and wins the next term', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  c.dropIf = isAppendTo(3n); // node 3 falls behind
  for (let i = 0; i < 3; i++) c.propose(1n, `e${i}`);
  c.stabilize();
  const lastIndex = leader.raw.status().lastIndex;
  leader.raw.transferLeadership(3n);
  c.stabilize();
  assert.equal(c.sent.filter((m) => m.type === MessageType.TimeoutNow).length, 0, 'not while node 3 lags');
  c.dropIf = null;
  c.tick(1n);
  const timeoutNow = c.sent.findIndex((m) => m.type === MessageType.TimeoutNow);
  assert.ok(timeoutNow >= 0, 'TimeoutNow was sent');
  assert.equal(c.sent[timeoutNow].to, 3n);
  const caughtUp = c.sent.findIndex(
    (m) => m.type === MessageType.AppendResponse && m.from === 3n && !m.reject && m.index === lastIndex,
  );
  assert.ok(caughtUp >= 0 && caughtUp < timeoutNow, 'only after node 3 acknowledged the last index');
  const target = c.node(3n);
  assert.equal(target.role, Role.Leader);
  assert.equal(target.term, 3, 'the term after the old leader’s');
  assert.equal(leader.role, Role.Follower);
  assert.deepEqual(target.committedData(), ['e0', 'e1', 'e2']);
});

test('thesis §3.10 a transfer to a learner is ignored', () => {
  const c = new Cluster({ voters: 2, learners: 1 });
  const leader = c.elect(1n);
  leader.raw.transferLeadership(3n);
  c.propose(1n, 'still-accepted'); // no transfer is in progress, so proposals are not refused
  c.stabilize();
  assert.equal(c.sent.filter((m) => m.type === MessageType.TimeoutNow).length, 0);
  assert.equal(leader.role, Role.Leader);
  assert.equal(leader.term, 2);
  assert.deepEqual(leader.refusals, []);
  assert.deepEqual(leader.committedData(), ['still-accepted']);
});
