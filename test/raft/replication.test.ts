// Log replication: Raft §5.3 (AppendEntries and its consistency check), §5.4.2 (committing
// entries from earlier terms, Figure 8), §7 (snapshots), and etcd-style flow control.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Entry,
  EntryType,
  isCommitOnly,
  type Message,
  MessageType,
  message,
  type PlantedBug,
} from '../../src/raft/index.js';
import { bytes, Cluster } from './harness.js';

const isAppendTo = (to: bigint) => (m: Message) => m.type === MessageType.Append && m.to === to;

function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: EntryType.Normal, data: bytes(data) };
}

/** Terms of the entries after the bootstrap snapshot (index 2 onward). */
function termsOf(c: Cluster, id: bigint): number[] {
  const store = c.node(id).store;
  return store.entries(store.firstIndex(), store.lastIndex() + 1, Number.MAX_SAFE_INTEGER).map((e) => e.term);
}

test('§5.3 an entry commits once a majority stores it, and not before', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  c.isolate(2n);
  c.isolate(3n);
  c.propose(1n, 'a');
  c.stabilize();
  assert.equal(leader.raw.status().commit, 2, 'only the leader stores it: not committed');
  assert.deepEqual(leader.committedData(), []);
  c.rejoin(2n);
  c.tick(1n); // the heartbeat round recovers the lost append
  assert.equal(leader.raw.status().commit, 3, 'leader + node 2 are a majority of three');
  assert.deepEqual(leader.committedData(), ['a']);
  assert.deepEqual(c.node(2n).committedData(), ['a']);
  assert.deepEqual(c.node(3n).committedData(), [], 'the isolated node has nothing');
});

/**
 * Figure 8 of the Raft paper, with five servers, one entry per append message. Returns the
 * cluster at the moment of (c): S1 leads term 4, its term-2 entry at index 3 is stored on
 * S1, S2 and S3 (a majority), and its term-4 no-op at index 4 only on S1 and S2.
 */
function figure8(plantedBug: PlantedBug | null): Cluster {
  const c = new Cluster({
    voters: 5,
    config: { preVote: false, checkQuorum: false, maxMessageBytes: 1, plantedBug },
  });
  // (a) S1 leads term 2 and replicates index 3 (term 2) to S2 only.
  c.elect(1n);
  c.dropIf = (m) => m.type === MessageType.Append && m.from === 1n && m.to !== 2n;
  c.propose(1n, 'x');
  c.stabilize();
  // (b) S5 is elected for term 3 by S3, S4, S5 and appends index 3 (term 3) to its own log only.
  c.dropIf = (m) => m.type === MessageType.Append && m.from === 5n;
  c.elect(5n);
  assert.equal(c.node(5n).term, 3);
  // (c) S5 goes away; S1 is elected for term 4 and replicates index 3 (term 2) to S3, while
  // the append carrying its own index 4 to S3 (and everything to S4) is lost.
  c.isolate(5n);
  c.dropIf = (m) =>
    m.type === MessageType.Append &&
    m.from === 1n &&
    (m.to === 4n ||
      (m.to === 3n && c.node(3n).store.lastIndex() >= 3 && m.entries.some((e) => e.index >= 4)));
  c.elect(1n);
  assert.equal(c.node(1n).term, 4);
  for (const id of [1n, 2n, 3n]) assert.equal(c.node(id).store.term(3), 2, `S${id} stores index 3 (term 2)`);
  assert.equal(c.node(3n).store.lastIndex(), 3, 'S3 lacks the term-4 entry');
  return c;
}

test('§5.4.2 a leader never commits an entry from an earlier term by counting its replicas (Figure 8)', () => {
  const c = figure8(null);
  assert.equal(c.node(1n).raw.status().commit, 2, 'index 3 is on a majority but is from term 2');
  // The scenario is sharp: the planted bug that counts replicas for old terms does commit it,
  // although S5 (log ending in term 3) could still be elected by S3, S4, S5 and overwrite it.
  const broken = figure8('commit-old-term');
  assert.equal(broken.node(1n).raw.status().commit, 3);
});

test('§5.4.2 a leader commits an entry from an earlier term only through an entry of its own term', () => {
  const c = figure8(null);
  c.dropIf = null;
  c.tick(1n); // a heartbeat round delivers index 4 (term 4) to S3: now on a majority
  const leader = c.node(1n);
  assert.equal(leader.raw.status().commit, 4);
  assert.deepEqual(
    leader.committed.map((e) => [e.index, e.term]),
    [
      [2, 2],
      [3, 2],
      [4, 4],
    ],
    'the term-2 entry is committed together with the term-4 entry',
  );
});

test('§5.3 the AppendEntries consistency check rejects an append whose prevIndex/prevTerm do not match', () => {
  const c = new Cluster({ voters: 3 });
  const follower = c.node(3n);
  const append = (index: number, logTerm: number, entries: Entry[]) =>
    message({ type: MessageType.Append, from: 1n, to: 3n, term: 3, index, logTerm, entries, commit: 1 });
  follower.raw.step(append(1, 1, [entry(2, 2), entry(3, 2)]));
  c.processReady(3n);
  follower.raw.step(append(5, 3, [entry(6, 3)])); // prevIndex beyond our log
  follower.raw.step(append(3, 3, [entry(4, 3)])); // prevIndex present, but with term 2
  c.processReady(3n);
  const responses = follower.readies.at(-1)!.messagesAfterPersist;
  assert.deepEqual(
    responses.map((m) => ({ type: m.type, index: m.index, reject: m.reject })),
    [
      { type: MessageType.AppendResponse, index: 5, reject: true },
      { type: MessageType.AppendResponse, index: 3, reject: true },
    ],
  );
  assert.deepEqual(termsOf(c, 3n), [2, 2], 'the log is unchanged');
});

test('§5.3 a follower truncates a conflicting suffix and replaces it with the leader entries', () => {
  const c = new Cluster({ voters: 3 });
  const follower = c.node(3n);
  follower.raw.step(
    message({
      type: MessageType.Append,
      from: 2n,
      to: 3n,
      term: 2,
      index: 1,
      logTerm: 1,
      entries: [entry(2, 2, 'a'), entry(3, 2, 'stale'), entry(4, 2, 'stale')],
      commit: 2,
    }),
  );
  c.processReady(3n);
  follower.raw.step(
    message({
      type: MessageType.Append,
      from: 1n,
      to: 3n,
      term: 3,
      index: 2,
      logTerm: 2,
      entries: [entry(3, 3, 'b')],
      commit: 2,
    }),
  );
  c.stabilize();
  assert.deepEqual(termsOf(c, 3n), [2, 3], 'index 3 replaced, index 4 truncated');
  assert.equal(follower.raw.status().lastIndex, 3);
  const response = c.sent.at(-1)!;
  assert.deepEqual(
    { type: response.type, index: response.index, reject: response.reject },
    {
      type: MessageType.AppendResponse,
      index: 3,
      reject: false,
    },
  );
});

test('§5.3 fast backtracking: a rejection hint lets the leader skip a whole conflicting term in one round trip', () => {
  const c = new Cluster({ voters: 3, config: { preVote: false, checkQuorum: false } });
  c.elect(1n);
  // S1, cut off, appends ten entries of term 2 that nobody else has.
  c.isolate(1n);
  for (let i = 0; i < 10; i++) c.propose(1n, `stale-${i}`);
  c.stabilize();
  // S2 then S3 lead; the log of the majority has ten different entries at those indexes.
  c.elect(2n);
  for (let i = 0; i < 10; i++) c.propose(2n, `fresh-${i}`);
  c.stabilize();
  c.elect(3n); // its progress for S1 starts optimistically at its own last index + 1
  assert.deepEqual(termsOf(c, 1n), Array(11).fill(2));
  c.rejoin(1n);
  const mark = c.sent.length;
  c.tick(3n);
  const rejections = c.sent
    .slice(mark)
    .filter((m) => m.type === MessageType.AppendResponse && m.from === 1n && m.reject);
  assert.equal(rejections.length, 1, 'one rejection skips all ten conflicting term-2 entries');
  assert.deepEqual(termsOf(c, 1n), termsOf(c, 3n));
  assert.deepEqual(
    c.node(1n).committedData().slice(0, 10),
    Array.from({ length: 10 }, (_, i) => `fresh-${i}`),
  );
});

test('flow control: in replicate state at most maxInflightMessages appends are unacknowledged', () => {
  const MAX_INFLIGHT = 3;
  const c = new Cluster({ voters: 3, config: { maxInflightMessages: MAX_INFLIGHT } });
  const leader = c.elect(1n);
  assert.equal(leader.raw.status().progress.get(2n)?.state, 'replicate');
  for (let i = 0; i < 8; i++) {
    c.propose(1n, `e${i}`);
    c.processReady(1n); // send, but deliver nothing: no acknowledgement comes back
  }
  assert.equal(c.network.filter(isAppendTo(2n)).length, MAX_INFLIGHT);
  assert.equal(leader.raw.status().progress.get(2n)?.inflight, MAX_INFLIGHT);
  c.stabilize(); // acknowledgements free the window and the rest follows
  assert.deepEqual(c.node(2n).committedData(), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7']);
});

test('flow control: in replicate state unacknowledged append bytes stop growing at maxInflightBytes', () => {
  const ENTRY_BYTES = 100;
  const OVERHEAD_BYTES = 24; // entryBytes() counts a fixed overhead per entry
  const MAX_INFLIGHT_BYTES = 3 * (ENTRY_BYTES + OVERHEAD_BYTES);
  const c = new Cluster({ voters: 3, config: { maxInflightBytes: MAX_INFLIGHT_BYTES } });
  const leader = c.elect(1n);
  for (let i = 0; i < 8; i++) {
    leader.raw.propose(new Uint8Array(ENTRY_BYTES).fill(i));
    c.processReady(1n);
  }
  const appends = c.network.filter(isAppendTo(2n));
  assert.equal(appends.length, 3);
  const inflight = leader.raw.raft.leader!.progress.get(2n)!.inflights;
  assert.equal(inflight.bytes(), MAX_INFLIGHT_BYTES);
  c.stabilize();
  assert.equal(c.node(2n).committedData().length, 8);
});

test('flow control: in probe state the leader sends one append per heartbeat until the follower answers', () => {
  const c = new Cluster({ voters: 3 });
  // Node 2 never receives an append, so its progress stays in probe; heartbeats still flow.
  c.dropIf = isAppendTo(2n);
  const leader = c.elect(1n);
  assert.equal(leader.raw.status().progress.get(2n)?.state, 'probe');
  let mark = c.sent.length;
  for (let i = 0; i < 3; i++) c.propose(1n, `p${i}`);
  c.stabilize();
  assert.equal(c.sent.slice(mark).filter(isAppendTo(2n)).length, 0, 'paused: a probe is outstanding');
  for (let round = 0; round < 3; round++) {
    mark = c.sent.length;
    c.tick(1n);
    assert.equal(c.sent.slice(mark).filter(isAppendTo(2n)).length, 1, `heartbeat round ${round}`);
  }
  c.dropIf = null;
  c.tick(1n);
  assert.equal(leader.raw.status().progress.get(2n)?.state, 'replicate');
  assert.deepEqual(c.node(2n).committedData(), ['p0', 'p1', 'p2']);
});

test('§7 a follower behind the compacted log is sent a snapshot and catches up after applying it', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  c.isolate(3n);
  for (let i = 0; i < 5; i++) c.propose(1n, `e${i}`);
  c.stabilize();
  const applied = leader.raw.status().applied;
  assert.equal(applied, 7);
  c.compact(1n, applied, bytes('state@7'));
  c.rejoin(3n);
  c.tick(1n);
  const snapshots = c.sent.filter((m) => m.type === MessageType.Snapshot && m.to === 3n);
  assert.equal(snapshots.length, 1);
  const follower = c.node(3n);
  assert.deepEqual(
    follower.snapshotsInstalled.map((s) => [s.metadata.index, new TextDecoder().decode(s.data)]),
    [[7, 'state@7']],
  );
  assert.equal(follower.raw.status().applied, 7);
  c.propose(1n, 'after');
  c.stabilize();
  assert.deepEqual(follower.committedData(), ['after']);
  assert.equal(leader.raw.status().progress.get(3n)?.state, 'replicate');
});

test('§5.3 lost in-flight appends are recovered after a heartbeat round', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  // Node 3 is away, so nothing commits (and no commit broadcast happens) without node 2.
  c.isolate(3n);
  let lost = 0;
  c.dropIf = (m) => {
    if (!isAppendTo(2n)(m) || m.entries.length === 0 || lost === 3) return false;
    lost++;
    return true;
  };
  // One proposal per Ready, so each travels in its own append (one Ready's proposals share one).
  for (let i = 0; i < 3; i++) {
    c.propose(1n, `e${i}`);
    c.processReady(1n);
  }
  c.stabilize();
  assert.equal(lost, 3, 'all three appends to node 2 were lost');
  assert.deepEqual(c.node(2n).committedData(), []);
  assert.equal(leader.raw.status().commit, 2, 'stalled: nothing committed');
  c.tick(1n);
  assert.deepEqual(leader.committedData(), ['e0', 'e1', 'e2']);
  assert.deepEqual(c.node(2n).committedData(), ['e0', 'e1', 'e2']);
});

test('proposals of one Ready reach each follower in one append, with the commit index', () => {
  const c = new Cluster({ voters: 3 });
  c.elect(1n);
  c.stabilize();
  const before = c.sent.length;
  for (let i = 0; i < 5; i++) c.propose(1n, `p${i}`);
  c.processReady(1n);
  const appends = c.sent.slice(before).filter((m) => m.type === MessageType.Append);
  assert.deepEqual(
    appends.map((m) => [m.to, m.entries.length]),
    [
      [2n, 5],
      [3n, 5],
    ],
  );
  c.stabilize();
  assert.deepEqual(c.node(3n).committedData().slice(-5), ['p0', 'p1', 'p2', 'p3', 'p4']);
});

test('a commit announced to followers holding the whole log is not acknowledged; other appends are', () => {
  const c = new Cluster({ voters: 3 });
  const leader = c.elect(1n);
  c.sent.length = 0;
  c.propose(1n, 'a');
  c.stabilize();
  assert.deepEqual(c.node(2n).committedData(), ['a']);
  assert.deepEqual(c.node(3n).committedData(), ['a']);
  const commitOnly = c.sent.filter((m) => m.type === MessageType.Append && isCommitOnly(m));
  assert.deepEqual(commitOnly.map((m) => m.to).sort(), [2n, 3n], 'the commit index went out as commit-only');
  for (const m of commitOnly) assert.equal(m.commit, leader.raw.status().commit);
  const acks = c.sent.filter((m) => m.type === MessageType.AppendResponse);
  assert.deepEqual(
    acks.map((m) => `${m.from}:${m.index}`).sort(),
    ['2:3', '3:3'],
    'one acknowledgement per follower, for the entry; none for the commit announcement',
  );

  // A follower the leader has not heard from since gets a plain append, and answers it.
  c.isolate(3n);
  c.propose(1n, 'b');
  c.stabilize();
  c.rejoin(3n);
  c.sent.length = 0;
  c.tick(1n);
  c.stabilize();
  assert.deepEqual(c.node(3n).committedData(), ['a', 'b']);
  const toThree = c.sent.filter(isAppendTo(3n));
  assert.ok(toThree.length > 0 && !isCommitOnly(toThree[0]), 'catching up is not commit-only');
  assert.ok(c.sent.some((m) => m.type === MessageType.AppendResponse && m.from === 3n && m.index === 4));
});

test('a follower answers an empty append that is not marked commit-only (a probe)', () => {
  const c = new Cluster({ voters: 3 });
  c.elect(1n);
  c.sent.length = 0;
  const status = c.node(2n).raw.status();
  const lastIndex = c.node(2n).store.lastIndex();
  c.deliver(
    message({
      type: MessageType.Append,
      from: 1n,
      to: 2n,
      term: status.term,
      index: lastIndex,
      logTerm: c.node(2n).store.term(lastIndex),
      commit: status.commit,
    }),
  );
  c.stabilize();
  assert.ok(
    c.sent.some((m) => m.type === MessageType.AppendResponse && m.from === 2n && m.index === lastIndex),
  );
});
