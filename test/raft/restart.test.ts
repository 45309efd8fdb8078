// Restart from what a crash left on disk: the applied index the driver restores from (its
// snapshot, or its state machine's own applied index) against the durable hard state and log.
// The commit index is persisted lazily (a commit-only change is not fsynced), so it may lag
// what was applied; the log never may, because only durable entries are applied.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvariantError } from '../../src/raft/index.js';
import { Cluster, text } from './harness.js';

/** Elects node 1 and commits `count` entries everywhere; returns node 2's applied index. */
function clusterWithEntries(count: number): { c: Cluster; applied: number } {
  const c = new Cluster({ voters: 3 });
  c.elect(1n);
  for (let i = 0; i < count; i++) c.propose(1n, `before-${i}`);
  c.stabilize();
  return { c, applied: c.node(2n).raw.status().applied };
}

test('restart: an applied index past the durable commit index, within the log, counts as committed', () => {
  const { c, applied } = clusterWithEntries(5);
  const store = c.node(2n).store;
  // The crash lost the last commit-only hard states: the durable one lags what was applied.
  const durableCommit = applied - 3;
  store.setHardState({ ...store.hardState, commit: durableCommit });
  assert.ok(store.lastIndex() >= applied);

  const restarted = c.restart(2n, applied);
  assert.equal(restarted.raw.status().commit, applied);
  assert.equal(restarted.raw.status().applied, applied);
  c.propose(1n, 'after');
  c.stabilize();
  assert.deepEqual(
    restarted.committed.map((e) => text(e.data)),
    ['after'],
    'the cluster goes on; nothing applied before the crash is handed out again',
  );
});

test('restart: an applied index past the last index stops the node, naming both indexes', () => {
  const { c, applied } = clusterWithEntries(5);
  // Entries the driver claims to have applied but the log does not hold cannot count as
  // committed: starting would let the core build on a log that disagrees with the state.
  assert.throws(
    () => c.restart(2n, applied + 2),
    (error: unknown) =>
      error instanceof InvariantError &&
      error.message === `invariant violated: applied ${applied + 2} beyond committed ${applied}`,
  );
});
