// Regression (found by the fault lab's lock workload): a Lock caller waiting behind a holder must
// be woken when the holder unlocks. The waiter's check counted its own key, so it waited until
// its deadline instead.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { LabClient } from '../../src/chaos/client.js';
import { FlotillaCluster } from '../support/flotilla.js';

let cluster: FlotillaCluster | undefined;
after(async () => cluster?.stop());

test('a waiting Lock caller acquires the lock once the holder unlocks', async () => {
  cluster = await FlotillaCluster.start(1);
  const first = new LabClient(cluster.address(0), 10_000);
  const second = new LabClient(cluster.address(0), 10_000);
  try {
    const leaseA = await first.leaseGrant({ TTL: '30' });
    const leaseB = await second.leaseGrant({ TTL: '30' });
    assert.ok(leaseA.kind === 'ok' && leaseB.kind === 'ok');
    const held = await first.lockAcquire('door', String(leaseA.response.ID), 10_000);
    assert.equal(held.kind, 'ok');
    // The second caller waits (well within its 20 s deadline) for the first to unlock.
    const waiting = second.lockAcquire('door', String(leaseB.response.ID), 20_000);
    let acquired = false;
    waiting.then(() => {
      acquired = true;
    });
    const current = await first.range({
      key: Buffer.from('door/'),
      range_end: Buffer.from('door0'),
      count_only: true,
    });
    assert.equal(acquired, false, 'the second caller must not get a held lock');
    assert.ok(current.kind === 'ok');
    if (held.kind === 'ok') await first.lockRelease(held.response.key as Uint8Array);
    const result = await waiting;
    assert.equal(result.kind, 'ok', JSON.stringify(result));
  } finally {
    first.close();
    second.close();
  }
});
