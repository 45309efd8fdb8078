// Leader election: Raft §5.1, §5.2, §5.4.1, and the dissertation's PreVote (§9.6),
// CheckQuorum (§6.2) and leader lease against disruptive servers (§4.2.3).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType, type Message, MessageType, message, Role } from '../../src/raft/index.js';
import { bytes, Cluster } from './harness.js';

const ELECTION_TICKS = 10;

function messagesOf(c: Cluster, type: MessageType, from?: bigint): Message[] {
  return c.sent.filter((m) => m.type === type && (from === undefined || m.from === from));
}

test('§5.2 the election timeout is randomized in [electionTicks, 2*electionTicks)', () => {
  const observed = new Set<number>();
  for (let seed = 1; seed <= 60; seed++) {
    const c = new Cluster({ voters: 3, seed, config: { electionTicks: ELECTION_TICKS } });
    const node = c.node(1n);
    let ticks = 0;
    while (node.role === Role.Follower && ticks < 3 * ELECTION_TICKS) {
      node.raw.tick();
      ticks++;
    }
    assert.notEqual(node.role, Role.Follower, `seed ${seed}: no campaign within ${ticks} ticks`);
    assert.ok(
      ticks >= ELECTION_TICKS && ticks < 2 * ELECTION_TICKS,
      `seed ${seed}: campaigned after ${ticks}`,
    );
    observed.add(ticks);
  }
  // Randomized, not fixed: split votes must not repeat forever.
  assert.ok(observed.size >= 5, `only ${observed.size} distinct timeouts: ${[...observed]}`);
});

test('§5.2 a follower that hears from no leader within its election timeout starts an election', () => {
  const c = new Cluster({ voters: 3, config: { preVote: false } });
  c.isolate(1n);
  c.tick(1n, 2 * ELECTION_TICKS);
  const node = c.node(1n);
  assert.equal(node.role, Role.Candidate);
  assert.equal(node.term, 2, 'a candidate increments its term');
  assert.equal(node.raw.raft.vote, 1n, 'a candidate votes for itself');
  const requests = messagesOf(c, MessageType.Vote, 1n);
  assert.deepEqual(new Set(requests.map((m) => m.to)), new Set([2n, 3n]));
  assert.ok(requests.every((m) => m.term >= 2 && m.index === 1 && m.logTerm === 1));
});

test('§5.2 a candidate that wins a majority of votes becomes leader and appends a no-op of its term', () => {
  const c = new Cluster({ voters: 3 });
  c.isolate(3n); // two of three votes are enough
  const leader = c.elect(1n);
  assert.equal(leader.term, 2);
  assert.equal(c.node(2n).raw.raft.lead, 1n);
  const noop = leader.store.entries(2, 3, Number.MAX_SAFE_INTEGER)[0];
  assert.deepEqual(
    { index: noop.index, term: noop.term, type: noop.type, size: noop.data.byteLength },
    { index: 2, term: 2, type: EntryType.Normal, size: 0 },
  );
  assert.equal(leader.raw.status().commit, 2, 'the no-op commits on a majority');
});

test('§5.2 a node grants at most one vote per term', () => {
  const c = new Cluster({ voters: 3, config: { preVote: false } });
  const voter = c.node(3n).raw;
  const request = (from: bigint) =>
    message({ type: MessageType.Vote, from, to: 3n, term: 2, index: 1, logTerm: 1 });
  voter.step(request(1n));
  voter.step(request(2n));
  voter.step(request(1n)); // a repeated request from the same candidate is answered the same way
  const responses = voter.ready().messagesAfterPersist.filter((m) => m.type === MessageType.VoteResponse);
  assert.deepEqual(
    responses.map((m) => ({ to: m.to, reject: m.reject })),
    [
      { to: 1n, reject: false },
      { to: 2n, reject: true },
      { to: 1n, reject: false },
    ],
  );
  assert.equal(voter.raft.vote, 1n);
});

test('§5.4.1 a node denies its vote to a candidate whose log is less up-to-date than its own', () => {
  // No CheckQuorum here, so the leader lease (tested separately) does not hide the rule.
  const c = new Cluster({ voters: 3, config: { preVote: false, checkQuorum: false } });
  const voter = c.node(3n);
  // Node 3 has (index 2, term 2) from a leader of term 2.
  voter.raw.step(
    message({
      type: MessageType.Append,
      from: 1n,
      to: 3n,
      term: 2,
      index: 1,
      logTerm: 1,
      entries: [{ index: 2, term: 2, type: EntryType.Normal, data: bytes('x') }],
      commit: 1,
    }),
  );
  c.processReady(3n);
  const vote = (term: number, index: number, logTerm: number) => {
    voter.raw.step(message({ type: MessageType.Vote, from: 2n, to: 3n, term, index, logTerm }));
    c.processReady(3n);
    const response = c.sent.at(-1)!;
    assert.equal(response.type, MessageType.VoteResponse);
    return response.reject ? 'rejected' : 'granted';
  };
  assert.equal(vote(3, 1, 1), 'rejected', 'same last term is not enough with a shorter log');
  assert.equal(vote(4, 5, 1), 'rejected', 'a longer log with an older last term is less up-to-date');
  assert.equal(vote(5, 2, 2), 'granted', 'an equally up-to-date log gets the vote');
});

test('§5.1 a leader that sees a higher term steps down to follower', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  leader.raw.step(message({ type: MessageType.AppendResponse, from: 2n, to: 1n, term: 7, index: 2 }));
  assert.equal(leader.role, Role.Follower);
  assert.equal(leader.term, 7);
  c.processReady(1n);
  assert.equal(leader.readies.at(-1)!.softState?.role, Role.Follower, 'the step-down is reported');
});

test('thesis §9.6 with PreVote an isolated node does not increase its term', () => {
  const c = new Cluster({ voters: 3, config: { checkQuorum: false } });
  c.elect(1n);
  c.isolate(3n);
  let preCandidate = false;
  for (let i = 0; i < 10 * ELECTION_TICKS; i++) {
    c.tickAll();
    preCandidate ||= c.node(3n).role === Role.PreCandidate;
  }
  assert.ok(preCandidate, 'the isolated node did try (pre-)elections');
  assert.equal(c.node(3n).term, 2);
  assert.equal(
    messagesOf(c, MessageType.Vote, 3n).length,
    0,
    'no real vote request without a pre-vote quorum',
  );
});

test('thesis §9.6 with PreVote a rejoining node does not disrupt the leader', () => {
  const c = new Cluster({ voters: 3, config: { checkQuorum: false } });
  c.elect(1n);
  c.isolate(3n);
  c.propose(1n, 'while-3-was-away'); // node 3's log falls behind, so nobody would pre-vote for it
  c.stabilize();
  c.tick(3n, 5 * ELECTION_TICKS);
  assert.equal(c.node(3n).role, Role.PreCandidate);
  c.rejoin(3n);
  c.tickAll(5 * ELECTION_TICKS);
  for (const node of c.nodes.values()) {
    assert.equal(node.term, 2, `node ${node.id} term`);
    assert.equal(node.raw.raft.lead, 1n, `node ${node.id} leader`);
  }
  assert.deepEqual(c.node(3n).committedData(), ['while-3-was-away']);
});

test('thesis §6.2 CheckQuorum: a leader that hears from no quorum within an election timeout steps down', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  c.isolate(1n);
  let ticks = 0;
  while (leader.role === Role.Leader && ticks < 3 * ELECTION_TICKS) {
    c.tick(1n);
    ticks++;
  }
  assert.equal(leader.role, Role.Follower);
  assert.ok(ticks <= 2 * ELECTION_TICKS, `stepped down only after ${ticks} ticks`);
  assert.equal(leader.term, 2, 'stepping down for lack of quorum does not change the term');
});

test('thesis §4.2.3 leader lease: a follower that recently heard from its leader ignores a vote request', () => {
  const c = new Cluster({ voters: 3, config: { preVote: false } });
  c.elect(1n);
  const follower = c.node(2n);
  // A disruptive server (e.g. one that was removed) asks for a vote in a much higher term.
  follower.raw.step(message({ type: MessageType.Vote, from: 3n, to: 2n, term: 9, index: 99, logTerm: 9 }));
  assert.equal(follower.term, 2, 'the term is unchanged');
  assert.equal(follower.raw.raft.lead, 1n, 'the leader is still followed');
  assert.equal(follower.raw.hasReady(), false, 'no answer at all');
});
