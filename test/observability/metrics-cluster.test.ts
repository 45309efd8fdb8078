// Scrapes a running 3-member cluster (real `flotilla serve` processes) and checks that the metrics
// move the way they should: after puts, with a paused follower, after the leader dies, and when
// quorum is gone (health turns 503). Every wait is bounded; nothing sleeps for a fixed time.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlotillaCluster, waitFor } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';
import { sample, sampleOrZero, scrape } from '../support/prometheus.js';

const METRIC_TIMEOUT_MS = 15_000;
const PUTS = 20;
const PUT_LABELS = { service: 'etcdserverpb.KV', method: 'Put', code: '0' };

async function putMany(client: EtcdClient, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const result = await client.put({ key: Buffer.from(`${prefix}/${i}`), value: Buffer.from('v') });
    assert.ok('response' in result, `put ${prefix}/${i} failed: ${JSON.stringify(result)}`);
  }
}

test('metrics of a live cluster: puts, a lagging follower, a leader change, lost quorum', {
  timeout: 120_000,
}, async () => {
  const cluster = await FlotillaCluster.start(3, [], { metrics: true });
  const clients: EtcdClient[] = [];
  try {
    const leader = await cluster.leaderIndex();
    const followers = [0, 1, 2].filter((i) => i !== leader);
    const url = (i: number) => cluster.metricsUrl(i);

    // ---- puts: committed proposals, applied index and per-RPC counts rise -------------------
    const before = await Promise.all([0, 1, 2].map((i) => scrape(url(i))));
    const viaFollower = new EtcdClient(cluster.address(followers[0]));
    clients.push(viaFollower);
    await putMany(viaFollower, 'a', PUTS);
    for (const i of [0, 1, 2]) {
      await waitFor(`member ${i} to apply the puts`, METRIC_TIMEOUT_MS, async () => {
        const now = await scrape(url(i));
        const applied = sample(now, 'flotilla_raft_applied_index');
        const committed = sample(now, 'flotilla_raft_proposals_committed_total');
        const wasApplied = sample(before[i], 'flotilla_raft_applied_index');
        const wasCommitted = sample(before[i], 'flotilla_raft_proposals_committed_total');
        return applied >= wasApplied + PUTS && committed >= wasCommitted + PUTS ? true : undefined;
      });
    }
    const afterPuts = await scrape(url(followers[0]));
    assert.equal(
      sampleOrZero(afterPuts, 'flotilla_grpc_requests_total', PUT_LABELS) -
        sampleOrZero(before[followers[0]], 'flotilla_grpc_requests_total', PUT_LABELS),
      PUTS,
      'every Put is counted once, on the member that served it',
    );
    assert.equal(sample(afterPuts, 'flotilla_grpc_request_duration_seconds_count', PUT_LABELS), PUTS);
    const leaderAfterPuts = await scrape(url(leader));
    assert.equal(sampleOrZero(leaderAfterPuts, 'flotilla_grpc_requests_total', PUT_LABELS), 0);
    assert.equal(sample(leaderAfterPuts, 'flotilla_raft_role', { role: 'leader' }), 1);
    assert.ok(sample(leaderAfterPuts, 'flotilla_wal_fsync_duration_seconds_count') > 0);

    // ---- a paused follower: the leader's lag metrics for it grow, then fall back to 0 --------
    const paused = followers[1];
    const pausedName = { follower: cluster.members[paused].name };
    const viaLeader = new EtcdClient(cluster.address(leader));
    clients.push(viaLeader);
    await cluster.kill(paused, 'SIGSTOP');
    try {
      await putMany(viaLeader, 'b', PUTS);
      const lagging = await scrape(url(leader));
      const lagEntries = sample(lagging, 'flotilla_raft_replication_lag_entries', pausedName);
      assert.ok(
        lagEntries >= PUTS,
        `lag of the paused follower is ${lagEntries} entries, expected ≥ ${PUTS}`,
      );
      const lagSeconds = sample(lagging, 'flotilla_raft_replication_lag_seconds', pausedName);
      assert.ok(lagSeconds > 0, 'the paused follower lags in time too');
      await putMany(viaLeader, 'c', PUTS);
      await waitFor('the lag to grow while the follower is paused', METRIC_TIMEOUT_MS, async () => {
        const later = await scrape(url(leader));
        const entries = sample(later, 'flotilla_raft_replication_lag_entries', pausedName);
        const seconds = sample(later, 'flotilla_raft_replication_lag_seconds', pausedName);
        return entries >= lagEntries + PUTS && seconds > lagSeconds ? true : undefined;
      });
      const healthy = followers[0];
      const healthyLag = sample(await scrape(url(leader)), 'flotilla_raft_replication_lag_entries', {
        follower: cluster.members[healthy].name,
      });
      assert.ok(healthyLag < PUTS, `the running follower keeps up (lag ${healthyLag})`);
    } finally {
      await cluster.kill(paused, 'SIGCONT');
    }
    await waitFor('the resumed follower to catch up', METRIC_TIMEOUT_MS, async () => {
      const now = await scrape(url(leader));
      const entries = sample(now, 'flotilla_raft_replication_lag_entries', pausedName);
      const seconds = sample(now, 'flotilla_raft_replication_lag_seconds', pausedName);
      return entries === 0 && seconds === 0 ? true : undefined;
    });

    // ---- the leader dies: survivors see a leader change and a higher term -------------------
    const survivorsBefore = await Promise.all(followers.map((i) => scrape(url(i))));
    await cluster.kill(leader, 'SIGKILL');
    for (const [n, i] of followers.entries()) {
      await waitFor(`survivor ${i} to see a new leader`, METRIC_TIMEOUT_MS, async () => {
        const now = await scrape(url(i));
        const changes = sample(now, 'flotilla_raft_leader_changes_total');
        const term = sample(now, 'flotilla_raft_term');
        const hasLeader = sample(now, 'flotilla_raft_has_leader');
        const old = survivorsBefore[n];
        return changes > sample(old, 'flotilla_raft_leader_changes_total') &&
          term > sample(old, 'flotilla_raft_term') &&
          hasLeader === 1
          ? true
          : undefined;
      });
    }
    const health = await fetch(`${url(followers[0])}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { health: 'true', reason: '' });

    // ---- quorum lost: the last member has no leader, /health and /readyz say 503 -------------
    const last = followers[0];
    await cluster.kill(followers[1], 'SIGKILL');
    const unhealthy = await waitFor('the last member to report no leader', METRIC_TIMEOUT_MS, async () => {
      const response = await fetch(`${url(last)}/health`);
      const body = await response.json();
      return response.status === 503 ? body : undefined;
    });
    assert.deepEqual(unhealthy, { health: 'false', reason: 'RAFT NO LEADER' });
    const ready = await fetch(`${url(last)}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /\[-\]leader failed/);
    assert.equal((await fetch(`${url(last)}/livez`)).status, 200);
    assert.equal(sample(await scrape(url(last)), 'flotilla_raft_has_leader'), 0);
  } catch (error) {
    process.stderr.write(cluster.describe());
    throw error;
  } finally {
    for (const client of clients) client.close();
    await cluster.stop();
  }
});
