// kill -9 of a follower right after it installed a snapshot streamed by the leader. The streamed
// state is the leader's database at its own applied index, past the snapshot's index, so until
// the leader's entries after the snapshot reach the follower's WAL, the follower's database is
// ahead of its log. A crash in that window must not read as a damaged data directory.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FlotillaCluster, snapshotIndexes, waitFor } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

const KEYS = 200;
const SNAPSHOT_COUNT = 20;
/**
 * Every WAL fsync on the restarted follower takes this long (test hook): the install itself
 * syncs without the hook, so the follower's log cannot reach past the snapshot before this
 * has passed — a window far wider than the test needs to see the snapshot file and kill.
 */
const FSYNC_DELAY_MS = 3_000;
const CATCH_UP_TIMEOUT_MS = 30_000;
const SETTLE_TIMEOUT_MS = 10_000;

const clusters: FlotillaCluster[] = [];
const hooksDir = mkdtempSync(join(tmpdir(), 'flotilla-hooks-'));
after(async () => {
  for (const cluster of clusters) await cluster.stop();
  rmSync(hooksDir, { recursive: true, force: true });
});

async function put(client: EtcdClient, key: string): Promise<void> {
  const result = await client.put({ key: Buffer.from(key), value: Buffer.from(`value of ${key}`) });
  assert.ok('response' in result, JSON.stringify(result));
}

/** Index of the newest compaction snapshot file in a member's snapshot directory (1: none). */
function newestSnapshotIndex(dataDir: string): number {
  return Math.max(1, ...snapshotIndexes(dataDir));
}

/**
 * Restarts a killed follower and waits until it holds all `written` keys with the leader's
 * history (same hash: entries the streamed state already held were skipped, not applied twice,
 * which would shift every later revision). Fails at once if the follower exits.
 */
async function restartAndCatchUp(
  cluster: FlotillaCluster,
  follower: number,
  leader: number,
  written: number,
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  cluster.restart(follower, 'new', env);
  const member = cluster.members[follower];
  const exited = member.exited.then((code) => {
    throw new Error(`the restarted follower exited (code ${code}):\n${member.output}`);
  });
  await Promise.race([
    exited,
    waitFor('the restarted follower to hold every key', CATCH_UP_TIMEOUT_MS, async () =>
      (await countKeys(cluster.address(follower))) === written ? true : undefined,
    ),
  ]);
  assert.equal(await latestHash(cluster.address(follower)), await latestHash(cluster.address(leader)));
}

async function appliedIndex(client: EtcdClient): Promise<number> {
  const status = await client.status();
  assert.ok('response' in status, JSON.stringify(status));
  return Number(status.response.raftAppliedIndex);
}

async function countKeys(address: string): Promise<number> {
  const client = new EtcdClient(address);
  try {
    const result = await client.range({
      key: Buffer.from('streamed/'),
      range_end: Buffer.from('streamed0'),
      count_only: true,
      serializable: true,
    });
    if (!('response' in result)) throw new Error(JSON.stringify(result));
    return Number(result.response.count);
  } finally {
    client.close();
  }
}

async function latestHash(address: string): Promise<number> {
  const client = new EtcdClient(address);
  try {
    const result = await client.hashKV({ revision: '0' });
    if (!('response' in result)) throw new Error(JSON.stringify(result));
    return result.response.hash;
  } finally {
    client.close();
  }
}

test('kill -9 of a follower right after it installed a streamed snapshot: it restarts and catches up', async () => {
  const cluster = await FlotillaCluster.start(3, [
    `--snapshot-count=${SNAPSHOT_COUNT}`,
    '--experimental-snapshot-catchup-entries=5',
  ]);
  clusters.push(cluster);
  const leader = await cluster.leaderIndex();
  const follower = (leader + 1) % 3;
  await cluster.kill(follower, 'SIGKILL');
  const client = new EtcdClient(cluster.address(leader));
  let written = 0;
  try {
    while (written < KEYS) await put(client, `streamed/${written++}`);
    // The case under test: the streamed state is ahead of the snapshot it comes with. The leader
    // is past its newest snapshot by less than an interval, so no compaction is pending either.
    const leaderDir = cluster.members[leader].dataDir;
    await waitFor('the leader to be past its newest snapshot', SETTLE_TIMEOUT_MS, async () => {
      const gap = (await appliedIndex(client)) - newestSnapshotIndex(leaderDir);
      if (gap > 0 && gap < SNAPSHOT_COUNT) return true;
      if (gap === 0) await put(client, `streamed/${written++}`);
      return undefined;
    });
  } finally {
    client.close();
  }

  const hooksFile = join(hooksDir, 'follower.json');
  writeFileSync(hooksFile, JSON.stringify({ fsyncDelayMs: FSYNC_DELAY_MS }));
  cluster.restart(follower, 'new', { FLOTILLA_TEST_HOOKS: hooksFile });
  const followerDir = cluster.members[follower].dataDir;
  await waitFor('the follower to install a snapshot from the leader', CATCH_UP_TIMEOUT_MS, async () =>
    newestSnapshotIndex(followerDir) > 1 ? true : undefined,
  );
  await cluster.kill(follower, 'SIGKILL');

  await restartAndCatchUp(cluster, follower, leader, written);
});

/** Big values: the leader's appends (at most 1 MiB) then carry a few entries each. */
const BIG_VALUE_BYTES = 200 * 1024;
const LEADER_SNAPSHOT_COUNT = 40;
/** The restarted follower compacts far more often than the leader (members may differ). */
const FOLLOWER_SNAPSHOT_COUNT = 3;
/** Each WAL fsync on the restarted follower (after the install) takes this long. */
const SLOW_FSYNC_MS = 1_500;

test('a follower whose compaction interval is shorter than the streamed state is ahead: kill -9 mid catch-up, it restarts', async () => {
  const cluster = await FlotillaCluster.start(3, [], {
    env: {
      FLOTILLA_SNAPSHOT_COUNT: String(LEADER_SNAPSHOT_COUNT),
      FLOTILLA_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES: '2',
    },
  });
  clusters.push(cluster);
  const leader = await cluster.leaderIndex();
  const follower = (leader + 1) % 3;
  await cluster.kill(follower, 'SIGKILL');
  const client = new EtcdClient(cluster.address(leader));
  const big = Buffer.alloc(BIG_VALUE_BYTES, 'v');
  let written = 0;
  let streamedIndex = 0;
  let snapshotIndex = 0;
  try {
    const putBig = async () => {
      const result = await client.put({ key: Buffer.from(`streamed/${written++}`), value: big });
      assert.ok('response' in result, JSON.stringify(result));
    };
    // The leader's state (what it streams) must be many follower intervals past its snapshot.
    const leaderDir = cluster.members[leader].dataDir;
    await waitFor('the leader to be far past its newest snapshot', CATCH_UP_TIMEOUT_MS, async () => {
      snapshotIndex = newestSnapshotIndex(leaderDir);
      streamedIndex = await appliedIndex(client);
      const gap = streamedIndex - snapshotIndex;
      if (snapshotIndex > 1 && gap >= 6 * FOLLOWER_SNAPSHOT_COUNT && gap < LEADER_SNAPSHOT_COUNT) return true;
      await putBig();
      return undefined;
    });
  } finally {
    client.close();
  }

  const hooksFile = join(hooksDir, 'slow-follower.json');
  writeFileSync(hooksFile, JSON.stringify({ fsyncDelayMs: SLOW_FSYNC_MS }));
  cluster.restart(follower, 'new', {
    FLOTILLA_SNAPSHOT_COUNT: String(FOLLOWER_SNAPSHOT_COUNT),
    FLOTILLA_TEST_HOOKS: hooksFile,
  });
  // Kill once the follower has applied at least one of its own intervals past the snapshot. Its
  // first batch after the install is the leader's single probe append (five of these entries,
  // short of the streamed state), applied after a slow fsync: without the guard it records a
  // snapshot there. When the kill comes is up to the scheduler (the status answer may wait behind
  // the next slow fsync, by when the log may have reached the streamed state); the check below
  // does not depend on it, since the follower keeps its newest five snapshots and its log ends
  // only a few entries past the streamed state.
  const followerClient = new EtcdClient(cluster.address(follower));
  try {
    await waitFor('the follower to apply past the snapshot', CATCH_UP_TIMEOUT_MS, async () => {
      const applied = await appliedIndex(followerClient).catch(() => 0);
      return applied >= snapshotIndex + FOLLOWER_SNAPSHOT_COUNT ? true : undefined;
    });
  } finally {
    followerClient.close();
  }
  await cluster.kill(follower, 'SIGKILL');
  assert.ok(
    snapshotIndexes(cluster.members[follower].dataDir).includes(snapshotIndex),
    `the follower installed the leader's snapshot at ${snapshotIndex}`,
  );
  // The follower compacted only once its log reached the streamed state: no snapshot of its own
  // names an index between the installed snapshot and that state (its database was past them).
  const followerSnapshots = snapshotIndexes(cluster.members[follower].dataDir);
  assert.deepEqual(
    followerSnapshots.filter((index) => index > snapshotIndex && index < streamedIndex),
    [],
    `snapshots ${followerSnapshots} (installed ${snapshotIndex}, streamed state at ${streamedIndex} or later)`,
  );

  await restartAndCatchUp(cluster, follower, leader, written, {
    FLOTILLA_SNAPSHOT_COUNT: String(FOLLOWER_SNAPSHOT_COUNT),
  });
});
