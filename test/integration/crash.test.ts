// Kill -9 of every member during a write load loses no acknowledged write.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FlotillaCluster, snapshotIndexes } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

/** Writes issued by the load; bounded so the test is bounded. */
const WRITES_MAX = 3_000;
const LOAD_MS = 1_500;

const clusters: FlotillaCluster[] = [];
after(async () => Promise.all(clusters.map((c) => c.stop())));

test('kill -9 of every member during writes, then restart: every acknowledged write is there', async () => {
  await killAllDuringWrites([]);
});

test('the same with frequent snapshots: compacted logs lose nothing either', async () => {
  const cluster = await killAllDuringWrites([
    '--snapshot-count=50',
    '--experimental-snapshot-catchup-entries=10',
  ]);
  // Every member compacted its log at least once (else this test would not test compaction).
  for (const member of cluster.members) {
    const snapshots = snapshotIndexes(member.dataDir).filter((index) => index > 1);
    assert.ok(snapshots.length > 0, `${member.name} made no compaction snapshot`);
  }
});

async function killAllDuringWrites(flags: string[]): Promise<FlotillaCluster> {
  const cluster = await FlotillaCluster.start(3, flags);
  clusters.push(cluster);
  const acknowledged = new Map<string, string>();
  const clients = cluster.endpoints.map((address) => new EtcdClient(address));
  let issued = 0;
  let stop = false;
  const writer = async (client: EtcdClient, worker: number) => {
    while (!stop && issued < WRITES_MAX) {
      const n = issued++;
      const key = `crash/${worker}/${n}`;
      const value = `v${n}`;
      const result = await client.put({ key: Buffer.from(key), value: Buffer.from(value) });
      if ('response' in result) acknowledged.set(key, value);
    }
  };
  const load = clients.flatMap((client, i) => [writer(client, i * 2), writer(client, i * 2 + 1)]);
  await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
  // Kill every member at once, mid-load, with SIGKILL: nothing gets to flush or say goodbye.
  await Promise.all(cluster.members.map((_, i) => cluster.kill(i, 'SIGKILL')));
  stop = true;
  await Promise.all(load);
  for (const client of clients) client.close();
  assert.ok(acknowledged.size > 50, `the load should have written something, got ${acknowledged.size}`);

  for (let i = 0; i < cluster.members.length; i++) cluster.restart(i);
  await cluster.waitReady();
  const reader = new EtcdClient(cluster.address(0));
  try {
    const result = await reader.range({ key: Buffer.from('crash/'), range_end: Buffer.from('crash0') });
    assert.ok('response' in result, JSON.stringify(result));
    const stored = new Map(result.response.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
    const lost = [...acknowledged].filter(([key, value]) => stored.get(key) !== value);
    assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.size} acknowledged writes were lost`);
  } finally {
    reader.close();
  }
  return cluster;
}
