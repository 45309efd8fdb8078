// Snapshots: a member that fell behind the compacted log catches up from a snapshot, and a
// backup taken with `etcdctl snapshot save` restores into a new cluster with every key.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, FlotillaCluster, snapshotIndexes, waitFor } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

const run = promisify(execFile);
const ETCDCTL = process.env.FLOTILLA_ETCDCTL_BIN ?? '/usr/bin/etcdctl';
const KEYS = 200;

const clusters: FlotillaCluster[] = [];
after(async () => {
  for (const cluster of clusters) await cluster.stop();
});

async function putKeys(address: string, prefix: string, count: number): Promise<void> {
  const client = new EtcdClient(address);
  try {
    for (let i = 0; i < count; i++) {
      const result = await client.put({ key: Buffer.from(`${prefix}${i}`), value: Buffer.from(`v${i}`) });
      assert.ok('response' in result, JSON.stringify(result));
    }
  } finally {
    client.close();
  }
}

async function countKeys(address: string, prefix: string, serializable: boolean): Promise<number> {
  const client = new EtcdClient(address);
  try {
    const end = Buffer.from(prefix);
    end[end.length - 1]++;
    const result = await client.range({
      key: Buffer.from(prefix),
      range_end: end,
      count_only: true,
      serializable,
    });
    if (!('response' in result)) throw new Error(JSON.stringify(result));
    return Number(result.response.count);
  } finally {
    client.close();
  }
}

test('a member behind the compacted log catches up by snapshot', async () => {
  const cluster = await FlotillaCluster.start(3, [
    '--snapshot-count=20',
    '--experimental-snapshot-catchup-entries=5',
  ]);
  clusters.push(cluster);
  const leader = await cluster.leaderIndex();
  const lagging = (leader + 1) % 3;
  await cluster.kill(lagging, 'SIGKILL');
  await putKeys(cluster.address(leader), 'behind/', KEYS);
  cluster.restart(lagging);
  const caughtUp = await waitFor('the restarted member to hold every key', 20_000, async () =>
    (await countKeys(cluster.address(lagging), 'behind/', true)) === KEYS ? true : undefined,
  );
  assert.equal(caughtUp, true);
  assert.match(cluster.members[lagging].output, /installed snapshot from leader/);
});

test('large entries: a snapshot by bytes, long before --snapshot-count, and the log kept behind it is bounded by bytes too', async () => {
  const logBytes = 1024 * 1024;
  const valueBytes = 200 * 1024;
  const puts = 20;
  // --snapshot-count stays at its default (100,000): only the byte bound can compact this log.
  const cluster = await FlotillaCluster.start(3, [`--snapshot-log-bytes=${logBytes}`]);
  clusters.push(cluster);
  const leader = await cluster.leaderIndex();
  const lagging = (leader + 1) % 3;
  await cluster.kill(lagging, 'SIGKILL');
  const client = new EtcdClient(cluster.address(leader));
  try {
    for (let i = 0; i < puts; i++) {
      const value = Buffer.alloc(valueBytes, i);
      const result = await client.put({ key: Buffer.from(`large/${i}`), value });
      assert.ok('response' in result, JSON.stringify(result));
    }
  } finally {
    client.close();
  }
  await waitFor('the leader to record a snapshot', 10_000, async () =>
    snapshotIndexes(cluster.members[leader].dataDir).some((index) => index > 1) ? true : undefined,
  );
  // 5,000 catch-up entries by count would keep all twenty; half a MiB keeps two, so the member
  // that missed them needs the leader's snapshot.
  cluster.restart(lagging);
  await waitFor('the restarted member to hold every key', 20_000, async () =>
    (await countKeys(cluster.address(lagging), 'large/', true)) === puts ? true : undefined,
  );
  assert.match(cluster.members[lagging].output, /installed snapshot from leader/);
});

test('etcdctl snapshot save, then flotilla snapshot restore into a new cluster, keeps every key', async () => {
  assert.ok(existsSync(ETCDCTL) || !process.env.CI, `${ETCDCTL} is required`);
  const source = await FlotillaCluster.start(3);
  clusters.push(source);
  await putKeys(source.address(0), 'backup/', KEYS);
  const file = join(source.members[0].dataDir, '..', 'backup.db');
  await run(ETCDCTL, [`--endpoints=${source.address(0)}`, 'snapshot', 'save', file], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  const target = await FlotillaCluster.prepare(3);
  clusters.push(target);
  for (let i = 0; i < 3; i++)
    await run(process.execPath, [BIN, 'snapshot', 'restore', file, ...target.clusterFlags(i)]);
  await target.startAll();
  assert.equal(await countKeys(target.address(1), 'backup/', false), KEYS);
  // The restored cluster takes new writes too.
  await putKeys(target.address(2), 'after-restore/', 3);
  assert.equal(await countKeys(target.address(0), 'after-restore/', false), 3);
});

test('a corrupted backup is refused with a clear error', async () => {
  const target = await FlotillaCluster.prepare(1);
  clusters.push(target);
  const bogus = join(target.members[0].dataDir, '..', 'bogus.db');
  const { writeFileSync, mkdirSync } = await import('node:fs');
  mkdirSync(join(bogus, '..'), { recursive: true });
  writeFileSync(bogus, Buffer.alloc(100, 7));
  await assert.rejects(
    run(process.execPath, [BIN, 'snapshot', 'restore', bogus, ...target.clusterFlags(0)]),
    /SHA-256 mismatch/,
  );
});
