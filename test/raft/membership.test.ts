// Membership changes, one server at a time (dissertation §4.1, with the 2015 errata), learners
// (non-voting members, §4.2.1), and removing the leader (§4.2.2).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role } from '../../src/raft/index.js';
import { addLearner, addVoter, Cluster, removeNode, text } from './harness.js';

const ELECTION_TICKS = 10;

function sorted(ids: Iterable<bigint>): bigint[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

test('§4.2.1 a learner receives entries but does not count toward the commit quorum', () => {
  const c = new Cluster({ voters: 2, learners: 1 }); // voters 1, 2; learner 3
  const leader = c.elect(1n);
  c.isolate(2n);
  c.propose(1n, 'x');
  c.stabilize();
  const learner = c.node(3n);
  assert.equal(learner.store.lastIndex(), 3, 'the learner stores the entry');
  assert.equal(leader.raw.status().commit, 2, 'leader + learner are not a majority of the voters');
  c.rejoin(2n);
  c.tick(1n);
  assert.equal(leader.raw.status().commit, 3);
  assert.deepEqual(learner.committedData(), ['x'], 'the learner applies what the voters commit');
});

test('§4.2.1 a learner never starts an election', () => {
  const c = new Cluster({ voters: 2, learners: 1 });
  const learner = c.node(3n);
  c.tick(3n, 10 * ELECTION_TICKS);
  learner.raw.campaign();
  c.stabilize();
  assert.equal(learner.role, Role.Follower);
  assert.equal(learner.term, 1);
  assert.equal(c.sent.filter((m) => m.from === 3n).length, 0, 'it never asked for a (pre-)vote');
});

test('§4.1 promoting a learner with AddVoter makes it a voter that counts toward the quorum', () => {
  const c = new Cluster({ voters: 2, learners: 1 });
  const leader = c.elect(1n);
  leader.raw.proposeConfChange(addVoter(3n));
  c.stabilize();
  for (const node of c.nodes.values()) {
    assert.deepEqual(sorted(node.raw.membership().voters), [1n, 2n, 3n], `node ${node.id}`);
    assert.equal(node.raw.membership().learners.size, 0);
  }
  c.isolate(2n);
  c.propose(1n, 'with-3');
  c.stabilize();
  assert.deepEqual(leader.committedData(), ['with-3'], 'leader + node 3 are now a majority of three');
});

test('§4.1 removing a voter shrinks the quorum', () => {
  const c = new Cluster({ voters: 4 }); // quorum 3
  const leader = c.elect(1n);
  c.isolate(4n);
  leader.raw.proposeConfChange(removeNode(4n));
  c.stabilize();
  assert.deepEqual(sorted(leader.raw.membership().voters), [1n, 2n, 3n]);
  c.isolate(3n);
  c.propose(1n, 'two-of-three');
  c.stabilize();
  assert.deepEqual(leader.committedData(), ['two-of-three'], 'leader + node 2 are a majority of three');
});

test('§4.1 only one membership change may be pending at a time', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  leader.raw.proposeConfChange(addLearner(4n));
  leader.raw.proposeConfChange(addLearner(5n));
  c.stabilize();
  assert.deepEqual(
    leader.refusals.map((r) => r.reason),
    ['conf-change-pending'],
  );
  assert.deepEqual(sorted(leader.raw.membership().learners), [4n]);
  leader.raw.proposeConfChange(addLearner(5n)); // the first is applied: now accepted
  c.stabilize();
  assert.deepEqual(sorted(leader.raw.membership().learners), [4n, 5n]);
});

test('§4.1 (errata) a new leader refuses a membership change until its no-op is committed and applied', () => {
  const c = new Cluster({ voters: 3 });
  c.dropIf = (m) => m.type === MessageType.Append && m.from === 1n; // the no-op cannot commit yet
  const leader = c.elect(1n);
  assert.equal(leader.raw.status().commit, 1);
  leader.raw.proposeConfChange(addLearner(4n));
  c.stabilize();
  assert.deepEqual(
    leader.refusals.map((r) => r.reason),
    ['conf-change-pending'],
  );
  assert.equal(leader.raw.status().lastIndex, 2, 'nothing but the no-op was appended');
  c.dropIf = null;
  c.tick(1n);
  assert.equal(leader.raw.status().applied, 2, 'the no-op is applied');
  leader.raw.proposeConfChange(addLearner(4n));
  c.stabilize();
  assert.deepEqual(sorted(leader.raw.membership().learners), [4n]);
});

test('§4.2.2 a leader that removes itself steps down once the change is applied', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  leader.raw.proposeConfChange(removeNode(1n));
  c.stabilize();
  assert.equal(leader.role, Role.Follower);
  assert.deepEqual(sorted(leader.raw.membership().voters), [2n, 3n]);
  const next = c.tickUntilLeader([2n, 3n]);
  assert.equal(next.term, 3);
  c.propose(next.id, 'after-removal');
  c.stabilize();
  assert.deepEqual(next.committedData(), ['after-removal']);
  assert.equal(leader.role, Role.Follower, 'the removed node never campaigns');
});

test('§4.1 membership changes applied before a restart are re-applied when applied is beyond the snapshot', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  leader.raw.proposeConfChange(addLearner(4n));
  c.stabilize();
  const node = c.node(2n);
  const applied = node.raw.status().applied;
  assert.ok(node.raw.membership().learners.has(4n));
  // The snapshot's ConfState (index 1) predates the change; only the log has it.
  assert.deepEqual(node.store.snapshot().metadata.confState.learners, []);
  const restarted = c.restart(2n, applied);
  assert.deepEqual(sorted(restarted.raw.membership().learners), [4n]);
  assert.equal(restarted.raw.status().applied, applied);
  c.stabilize();
  assert.deepEqual(
    restarted.committed.map((e) => text(e.data)),
    [],
    'nothing already applied is handed out again',
  );
});
