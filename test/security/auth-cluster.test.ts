// Auth on a real three-member cluster, driven by clients nobody here wrote: etcdctl sessions
// (root, enabling auth, users and roles, allowed and denied operations with etcd's messages),
// tokens issued by one member used on the others, auth state surviving a restart and reaching a
// member that catches up by snapshot, and the etcd3 npm client with a username and password.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { ETCDCTL, type EtcdctlOutcome, runEtcdctl } from '../support/etcdctl.js';
import { BIN, FlotillaCluster, waitFor } from '../support/flotilla.js';
import { AuthRpc } from './auth-rpc.js';

const run = promisify(execFile);
const skip = existsSync(ETCDCTL) ? false : process.env.CI ? false : `${ETCDCTL} not installed`;

/** Cheap hashes keep the test fast; snapshots every 20 entries let a lagging member need one. */
const FLAGS = [
  '--bcrypt-cost=4',
  '--auth-attempts-per-second=1000',
  '--snapshot-count=20',
  '--experimental-snapshot-catchup-entries=5',
];
const ROOT = 'root:rootpw';
const ALICE = 'alice:alicepw';

describe('auth on a three-member cluster', { skip }, () => {
  let cluster: FlotillaCluster;

  /** Runs etcdctl against `endpoints` (default: all); never throws, so denials can be checked. */
  const etcdctl = (
    args: string[],
    options: { user?: string; endpoints?: string; input?: string } = {},
  ): Promise<EtcdctlOutcome> => {
    const user = options.user === undefined ? [] : [`--user=${options.user}`];
    const endpoints = options.endpoints ?? cluster.endpoints.join(',');
    return runEtcdctl(
      [`--endpoints=${endpoints}`, '--dial-timeout=10s', '--command-timeout=10s', ...user, ...args],
      options.input,
    );
  };
  const ok = async (args: string[], user?: string): Promise<string> => {
    const outcome = await etcdctl(args, { user });
    assert.equal(outcome.ok, true, `etcdctl ${args.join(' ')} failed: ${outcome.out}`);
    return outcome.out;
  };
  const refused = async (args: string[], user: string | undefined, message: string): Promise<void> => {
    const outcome = await etcdctl(args, { user });
    assert.equal(outcome.ok, false, `etcdctl ${args.join(' ')} should fail`);
    assert.equal(outcome.out, `Error: ${message}`);
  };

  before(async () => {
    assert.ok(existsSync(ETCDCTL), `${ETCDCTL} is required (Debian package etcd-client)`);
    cluster = await FlotillaCluster.start(3, FLAGS);
  });
  after(async () => cluster?.stop());

  test('enabling auth needs a root user; then requests without a user are refused', async () => {
    await refused(['auth', 'enable'], undefined, 'etcdserver: root user does not exist');
    assert.equal(await ok(['user', 'add', ROOT]), 'User root created');
    // etcdctl answers "root user does not have root role" by creating and granting it, then retries.
    assert.equal(await ok(['auth', 'enable']), 'Authentication Enabled');
    await refused(['get', 'k'], undefined, 'etcdserver: user name is empty');
    await refused(['put', 'k', 'v'], undefined, 'etcdserver: user name is empty');
    await refused(
      ['get', 'k'],
      'root:wrong',
      'etcdserver: authentication failed, invalid user ID or password',
    );
    await refused(['user', 'delete', 'root'], ROOT, 'etcdserver: invalid auth management');
  });

  test('root sets up a role with a prefix and a key, and a user holding it', async () => {
    assert.equal(await ok(['role', 'add', 'app'], ROOT), 'Role app created');
    await ok(['role', 'grant-permission', '--prefix=true', 'app', 'readwrite', 'app/'], ROOT);
    await ok(['role', 'grant-permission', 'app', 'read', 'config'], ROOT);
    assert.equal(await ok(['user', 'add', ALICE], ROOT), 'User alice created');
    assert.equal(await ok(['user', 'grant-role', 'alice', 'app'], ROOT), 'Role app is granted to user alice');
    assert.equal(
      await ok(['role', 'get', 'app'], ROOT),
      'Role app\nKV Read:\n\t[app/, app0) (prefix app/)\n\tconfig\nKV Write:\n\t[app/, app0) (prefix app/)',
    );
    await refused(['role', 'add', 'app'], ROOT, 'etcdserver: role name already exists');
    await refused(['user', 'grant-role', 'alice', 'nope'], ROOT, 'etcdserver: role name not found');
    await refused(['role', 'add', 'other'], ALICE, 'etcdserver: permission denied');
    await refused(['user', 'list'], ALICE, 'etcdserver: permission denied');
    assert.equal(await ok(['user', 'get', 'alice'], ALICE), 'User: alice\nRoles: app');
  });

  test('a user may do what its role allows and nothing else (put, get, del, txn)', async () => {
    await ok(['put', 'config', 'c1'], ROOT);
    await ok(['put', 'secret', 's1'], ROOT);
    assert.equal(await ok(['put', 'app/x', '1'], ALICE), 'OK');
    assert.equal(await ok(['get', 'app/x', '--print-value-only'], ALICE), '1');
    assert.equal(await ok(['get', 'config', '--print-value-only'], ALICE), 'c1');
    assert.equal(await ok(['get', 'app/', '--prefix', '--keys-only'], ALICE), 'app/x');
    await refused(['put', 'config', 'c2'], ALICE, 'etcdserver: permission denied');
    await refused(['get', 'secret'], ALICE, 'etcdserver: permission denied');
    await refused(['get', 'a', '--prefix'], ALICE, 'etcdserver: permission denied');
    await refused(['del', 'secret'], ALICE, 'etcdserver: permission denied');
    // A txn needs every key it touches: a put outside the role's keys refuses the whole txn.
    const txn = (put: string) => `value("config") = "c1"\n\nput ${put} v\n\n\n`;
    assert.equal((await etcdctl(['txn'], { user: ALICE, input: txn('app/t') })).out, 'SUCCESS\n\nOK');
    const denied = await etcdctl(['txn'], { user: ALICE, input: txn('secret') });
    assert.equal(denied.out, 'Error: etcdserver: permission denied');
    assert.equal(await ok(['del', 'app/x'], ALICE), '1');
    assert.equal(await ok(['get', 'secret', '--print-value-only'], ROOT), 's1');
  });

  test('watch needs read on the watched range: a denied watch is canceled as etcd cancels it', async () => {
    const denied = await etcdctl(['watch', 'secret'], { user: ALICE });
    assert.equal(denied.ok, false);
    assert.equal(denied.out, 'Error: watch is canceled by the server');
    const rpc = new AuthRpc(cluster.address(0));
    try {
      const token = await rpc.token('alice', 'alicepw');
      const allowed = await rpc.watchOnce(
        { key: Buffer.from('app/'), range_end: Buffer.from('app0') },
        token,
      );
      assert.ok('response' in allowed);
      assert.equal(allowed.response.created, true);
      assert.equal(allowed.response.canceled, false);
      const refusedWatch = await rpc.watchOnce({ key: Buffer.from('secret') }, token);
      assert.ok('response' in refusedWatch);
      assert.equal(refusedWatch.response.canceled, true);
      assert.equal(
        refusedWatch.response.cancel_reason,
        'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
      );
    } finally {
      rpc.close();
    }
  });

  test('revoking a lease needs write on every key attached to it', async () => {
    const leaseOf = (out: string) => /^lease ([0-9a-f]+) granted/.exec(out)?.[1] ?? assert.fail(out);
    const rootLease = leaseOf(await ok(['lease', 'grant', '100'], ROOT));
    await ok(['put', 'secret/leased', 'v', `--lease=${rootLease}`], ROOT);
    await refused(
      ['lease', 'revoke', rootLease],
      ALICE,
      'failed to revoke lease (etcdserver: permission denied)',
    );
    // Attaching that lease to a key alice may write is refused too: she could not revoke it.
    await refused(['put', 'app/leased', 'v', `--lease=${rootLease}`], ALICE, 'etcdserver: permission denied');
    const ownLease = leaseOf(await ok(['lease', 'grant', '100'], ALICE));
    await ok(['put', 'app/leased', 'v', `--lease=${ownLease}`], ALICE);
    assert.equal(await ok(['lease', 'revoke', ownLease], ALICE), `lease ${ownLease} revoked`);
    assert.equal(await ok(['get', 'secret/leased', '--print-value-only'], ROOT), 'v');
  });

  test('a token issued by one member is valid on every member; an unknown one is refused', async () => {
    const rpcs = [0, 1, 2].map((i) => new AuthRpc(cluster.address(i)));
    try {
      const token = await rpcs[0].token('alice', 'alicepw');
      assert.match(token, /^[a-zA-Z]{16}\.[0-9]+$/);
      for (const rpc of rpcs) {
        // A follower may apply the Authenticate entry a moment after the leader answered.
        const range = await waitFor(`alice's token on ${rpc.address}`, 10_000, async () => {
          const result = await rpc.call<{ kvs: { value: Buffer }[] }>(
            'KV',
            'Range',
            { key: Buffer.from('config') },
            token,
          );
          return 'error' in result && result.error.code === 16 ? undefined : result;
        });
        assert.ok('response' in range, JSON.stringify(range));
        assert.equal(range.response.kvs[0].value.toString(), 'c1');
        const secret = await rpc.call('KV', 'Range', { key: Buffer.from('secret') }, token);
        assert.deepEqual(secret, { error: { code: 7, details: 'etcdserver: permission denied' } });
      }
      const bogus = await rpcs[1].call('KV', 'Range', { key: Buffer.from('config') }, `${token}x`);
      assert.deepEqual(bogus, { error: { code: 16, details: 'etcdserver: invalid auth token' } });
    } finally {
      for (const rpc of rpcs) rpc.close();
    }
  });

  test('the JSON gateway takes the token from the Authorization header', async () => {
    const rpc = new AuthRpc(cluster.address(0));
    const token = await rpc.token('alice', 'alicepw').finally(() => rpc.close());
    const range = (headers: Record<string, string>) =>
      fetch(`http://${cluster.address(0)}/v3/kv/range`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ key: Buffer.from('config').toString('base64') }),
      });
    const allowed = await range({ Authorization: token });
    assert.equal(allowed.status, 200);
    const body = (await allowed.json()) as { kvs: { value: string }[] };
    assert.equal(Buffer.from(body.kvs[0].value, 'base64').toString(), 'c1');
    const anonymous = await range({});
    assert.equal(anonymous.status, 400);
    assert.equal(((await anonymous.json()) as { message: string }).message, 'etcdserver: user name is empty');
  });

  test('the etcd3 npm client authenticates with a username and password', async () => {
    const client = new Etcd3({
      hosts: cluster.endpoints.map((e) => `http://${e}`),
      auth: { username: 'alice', password: 'alicepw' },
    });
    try {
      await client.put('app/etcd3').value('hello');
      assert.equal(await client.get('app/etcd3').string(), 'hello');
      await assert.rejects(async () => client.put('secret').value('x'), /permission denied/);
      await assert.rejects(async () => client.get('secret').string(), /permission denied/);
    } finally {
      client.close();
    }
  });

  test('a member that missed auth changes while down gets them by snapshot', async () => {
    await cluster.kill(2);
    // If member 2 led, the others still name it leader until their election timeout: wait for a
    // live leader, or the writes below wait out etcdctl's timeouts on a dead one.
    await waitFor('a leader among the live members', 20_000, () => cluster.leaderIndex());
    // Only the live members: etcdctl authenticates on the endpoint it dials first, within its
    // 2 s dial timeout, and fails if that is the stopped one.
    const live = { endpoints: [0, 1].map((i) => cluster.address(i)).join(','), user: ROOT };
    const asRoot = async (args: string[]) => {
      const outcome = await etcdctl(args, live);
      assert.equal(outcome.ok, true, `etcdctl ${args.join(' ')} failed: ${outcome.out}`);
    };
    await asRoot(['user', 'add', 'bob:bobpw']);
    await asRoot(['user', 'grant-role', 'bob', 'app']);
    // Enough entries for the leader to compact its log past what member 2 holds (--snapshot-count=20).
    for (let i = 0; i < 40; i++) await asRoot(['put', `app/fill${i}`, 'v']);
    cluster.restart(2);
    const rpc = new AuthRpc(cluster.address(2));
    try {
      // Authenticate checks the password on the member that receives it: only member 2's own
      // state can know bob.
      await waitFor('bob known to member 2', 20_000, () => rpc.token('bob', 'bobpw'));
      assert.match(cluster.members[2].output, /installed snapshot from leader/);
    } finally {
      rpc.close();
    }
    const viaMember2 = { endpoints: cluster.address(2) };
    assert.equal(
      (await etcdctl(['get', 'config', '--print-value-only'], { ...viaMember2, user: 'bob:bobpw' })).out,
      'c1',
    );
    assert.equal(
      (await etcdctl(['get', 'secret'], { ...viaMember2, user: 'bob:bobpw' })).out,
      'Error: etcdserver: permission denied',
    );
  });

  test('after every member restarts, auth is still enabled with the same users and roles', async () => {
    for (let i = 0; i < 3; i++) await cluster.kill(i);
    for (let i = 0; i < 3; i++) cluster.restart(i);
    await cluster.waitReady();
    await refused(['get', 'config'], undefined, 'etcdserver: user name is empty');
    assert.equal(await ok(['get', 'config', '--print-value-only'], ALICE), 'c1');
    await refused(['get', 'secret'], ALICE, 'etcdserver: permission denied');
    assert.equal(await ok(['user', 'list'], ROOT), 'alice\nbob\nroot');
  });

  test('a backup (root only) carries users and roles into a restored cluster', async () => {
    const file = join(cluster.members[0].dataDir, '..', 'auth-backup.db');
    const saved = await etcdctl(['snapshot', 'save', file], { user: ROOT, endpoints: cluster.address(0) });
    assert.equal(saved.ok, true, saved.out);
    const target = await FlotillaCluster.prepare(1, FLAGS);
    try {
      await run(process.execPath, [BIN, 'snapshot', 'restore', file, ...target.clusterFlags(0)]);
      await target.startAll();
      const onTarget = (args: string[], user?: string) =>
        etcdctl(args, { user, endpoints: target.address(0) });
      assert.deepEqual(await onTarget(['get', 'config']), {
        ok: false,
        out: 'Error: etcdserver: user name is empty',
      });
      assert.deepEqual(await onTarget(['get', 'config', '--print-value-only'], ALICE), {
        ok: true,
        out: 'c1',
      });
      assert.deepEqual(await onTarget(['user', 'list'], ROOT), { ok: true, out: 'alice\nbob\nroot' });
    } finally {
      await target.stop();
    }
  });

  test('auth disable (root only) turns every check off', async () => {
    await refused(['auth', 'disable'], ALICE, 'etcdserver: permission denied');
    assert.equal(await ok(['auth', 'disable'], ROOT), 'Authentication Disabled');
    assert.equal(await ok(['get', 'secret', '--print-value-only']), 's1');
  });
});

describe('authentication attempts are limited per client', { skip }, () => {
  let cluster: FlotillaCluster;
  before(async () => {
    cluster = await FlotillaCluster.start(1, ['--bcrypt-cost=4', '--auth-attempts-per-second=2']);
  });
  after(async () => cluster?.stop());

  test('past --auth-attempts-per-second, Authenticate is refused with a clear error', async () => {
    const rpc = new AuthRpc(cluster.address(0));
    try {
      assert.ok('response' in (await rpc.call('Auth', 'UserAdd', { name: 'root', password: 'pw' })));
      assert.ok('response' in (await rpc.call('Auth', 'UserGrantRole', { user: 'root', role: 'root' })));
      assert.ok('response' in (await rpc.call('Auth', 'AuthEnable', {})));
      const attempts = await Promise.all(
        [1, 2, 3].map(() => rpc.call('Auth', 'Authenticate', { name: 'root', password: 'wrong' })),
      );
      const details = attempts.map((a) => ('error' in a ? a.error.details : 'ok'));
      assert.equal(
        details.filter((d) => d === 'etcdserver: authentication failed, invalid user ID or password').length,
        2,
      );
      assert.ok(
        attempts.some(
          (a) =>
            'error' in a &&
            a.error.code === 8 &&
            /too many authentication attempts from .* \(limit 2 per second, --auth-attempts-per-second\)/.test(
              a.error.details,
            ),
        ),
        JSON.stringify(details),
      );
    } finally {
      rpc.close();
    }
  });
});
