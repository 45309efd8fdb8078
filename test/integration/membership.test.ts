// Membership through etcdctl: add a learner, start it against the running cluster, watch it
// catch up, promote it to a voter, then remove an original member — writes keep working.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { FlotillaCluster, waitFor } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

const run = promisify(execFile);
const ETCDCTL = process.env.FLOTILLA_ETCDCTL_BIN ?? '/usr/bin/etcdctl';

let cluster: FlotillaCluster | undefined;
after(async () => cluster?.stop());

test('add a learner, start it, promote it, remove an original member', async () => {
  cluster = await FlotillaCluster.start(3);
  const c = cluster;
  const etcdctl = async (...args: string[]) =>
    (
      await run(ETCDCTL, [`--endpoints=${c.endpoints.slice(0, 3).join(',')}`, ...args], {
        env: { ...process.env, ETCDCTL_API: '3' },
      })
    ).stdout;
  for (let i = 0; i < 20; i++) await etcdctl('put', `before/${i}`, String(i));

  const index = await c.addMemberSpec();
  const added = await etcdctl(
    'member',
    'add',
    c.members[index].name,
    `--peer-urls=${c.peerUrl(index)}`,
    '--learner',
  );
  const id = /Member\s+([0-9a-f]+) added/.exec(added)?.[1];
  assert.ok(id, added);
  c.restart(index, 'existing');

  const learner = new EtcdClient(c.address(index));
  try {
    const count = await waitFor('the learner to catch up', 20_000, async () => {
      const result = await learner.range({
        key: Buffer.from('before/'),
        range_end: Buffer.from('before0'),
        count_only: true,
        serializable: true,
      });
      return 'response' in result && Number(result.response.count) === 20 ? 20 : undefined;
    });
    assert.equal(count, 20);
  } finally {
    learner.close();
  }
  assert.match(
    await etcdctl('member', 'list'),
    new RegExp(
      `${id}, started, ${c.members[index].name}, ${c.peerUrl(index)}, http://127.0.0.1:${c.members[index].clientPort}, true`,
    ),
  );

  assert.match(await etcdctl('member', 'promote', id), /promoted/);
  assert.match(await etcdctl('member', 'list'), new RegExp(`${id}, started, .*, false`));

  // Remove an original follower: four voters become three, and the cluster keeps taking writes.
  const leader = await c.leaderIndex();
  const victim = [0, 1, 2].find((i) => i !== leader)!;
  const list = await etcdctl('member', 'list');
  const victimId = new RegExp(`([0-9a-f]+), started, ${c.members[victim].name},`).exec(list)?.[1];
  assert.ok(victimId, list);
  await etcdctl('member', 'remove', victimId);
  await c.kill(victim, 'SIGTERM');
  const survivor = [0, 1, 2].find((i) => i !== victim)!;
  const after = await run(ETCDCTL, [`--endpoints=${c.address(survivor)}`, 'put', 'after', 'removal'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  assert.equal(after.stdout.trim(), 'OK');
  const members = await run(ETCDCTL, [`--endpoints=${c.address(survivor)}`, 'member', 'list'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  assert.equal(members.stdout.trim().split('\n').length, 3);

  // Regression (found by the fault lab): an original member restarted with an --initial-cluster
  // that now lists the added member must start (the flag is ignored once the data dir exists).
  await c.kill(survivor, 'SIGTERM');
  c.restart(survivor);
  await c.waitReady();
  const again = await run(ETCDCTL, [`--endpoints=${c.address(survivor)}`, 'put', 'after', 'restart'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  assert.equal(again.stdout.trim(), 'OK');
});
