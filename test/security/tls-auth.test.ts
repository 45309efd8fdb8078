// TLS and auth together, as an operator would run them: a three-member cluster with client and
// peer TLS (client-cert-auth on both ports) and etcd's auth enabled, driven by real etcdctl
// sessions over https. Each role may do what it was granted and is refused the rest with etcd's
// messages; a certificate's common name is the user of a call without a token (as in etcd); a
// caller without a certificate from the cluster's CA never reaches the auth layer.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ETCDCTL, type EtcdctlOutcome, runEtcdctl } from '../support/etcdctl.js';
import { type KeyPair, OPENSSL, TestCa } from '../support/tls.js';
import { TlsCluster } from '../support/tls-cluster.js';

const missing = [ETCDCTL, OPENSSL].filter((bin) => !existsSync(bin));
const skip = missing.length === 0 ? false : process.env.CI ? false : `${missing.join(', ')} not installed`;

/** Cheap hashes keep the test fast; the attempt limit is not what this test is about. */
const AUTH_FLAGS = ['--bcrypt-cost=4', '--auth-attempts-per-second=1000'];
const ROOT = 'root:rootpw';
const READER = 'rita:ritapw';
const WRITER = 'walt:waltpw';
const DENIED = 'Error: etcdserver: permission denied';

describe('etcdctl over TLS with auth on: allowed and denied operations per role', { skip }, () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let cluster: TlsCluster;
  let client: KeyPair;
  let stranger: KeyPair;

  const etcdctl = (args: string[], user: string | null, pair: KeyPair = client): Promise<EtcdctlOutcome> =>
    runEtcdctl([
      `--endpoints=${cluster.endpoints}`,
      `--cacert=${ca.cert}`,
      `--cert=${pair.cert}`,
      `--key=${pair.key}`,
      '--dial-timeout=5s',
      '--command-timeout=10s',
      ...(user === null ? [] : [`--user=${user}`]),
      ...args,
    ]);
  const ok = async (args: string[], user: string | null): Promise<string> => {
    const outcome = await etcdctl(args, user);
    assert.equal(outcome.ok, true, `etcdctl ${args.join(' ')} as ${user}: ${outcome.out}`);
    return outcome.out;
  };
  const refused = async (args: string[], user: string | null, message: string): Promise<void> => {
    const outcome = await etcdctl(args, user);
    assert.equal(outcome.ok, false, `etcdctl ${args.join(' ')} as ${user} should fail`);
    assert.equal(outcome.out, message);
  };

  before(async () => {
    ca = await TestCa.create('flotilla-auth-ca');
    otherCa = await TestCa.create('other-ca');
    client = await ca.issue('operator');
    stranger = await otherCa.issue('stranger');
    cluster = await TlsCluster.start(3, ca, AUTH_FLAGS);
  });
  after(async () => {
    await cluster?.stop();
    ca?.dispose();
    otherCa?.dispose();
  });

  test('root enables auth over TLS and sets up a read-only and a read-write role', async () => {
    assert.equal(await ok(['user', 'add', ROOT], null), 'User root created');
    assert.equal(await ok(['auth', 'enable'], null), 'Authentication Enabled');
    assert.equal(await ok(['role', 'add', 'reader'], ROOT), 'Role reader created');
    await ok(['role', 'grant-permission', '--prefix=true', 'reader', 'read', 'app/'], ROOT);
    assert.equal(await ok(['role', 'add', 'writer'], ROOT), 'Role writer created');
    await ok(['role', 'grant-permission', '--prefix=true', 'writer', 'readwrite', 'app/'], ROOT);
    for (const [user, role] of [
      [READER, 'reader'],
      [WRITER, 'writer'],
    ]) {
      const name = user.split(':')[0];
      assert.equal(await ok(['user', 'add', user], ROOT), `User ${name} created`);
      assert.equal(
        await ok(['user', 'grant-role', name, role], ROOT),
        `Role ${role} is granted to user ${name}`,
      );
    }
    await ok(['put', 'secret', 's'], ROOT);
  });

  test('the writer writes and reads its prefix; nothing outside it', async () => {
    assert.equal(await ok(['put', 'app/color', 'blue'], WRITER), 'OK');
    assert.equal(await ok(['get', 'app/color', '--print-value-only'], WRITER), 'blue');
    assert.equal(await ok(['del', 'app/color'], WRITER), '1');
    assert.equal(await ok(['put', 'app/color', 'green'], WRITER), 'OK');
    await refused(['put', 'secret', 'x'], WRITER, DENIED);
    await refused(['get', 'secret'], WRITER, DENIED);
    await refused(['role', 'add', 'mine'], WRITER, DENIED);
  });

  test('the reader reads its prefix; every write is refused', async () => {
    assert.equal(await ok(['get', 'app/color', '--print-value-only'], READER), 'green');
    await refused(['put', 'app/color', 'red'], READER, DENIED);
    await refused(['del', 'app/color'], READER, DENIED);
    await refused(['get', 'secret'], READER, DENIED);
    await refused(['user', 'list'], READER, DENIED);
    assert.equal(await ok(['get', 'app/color', '--print-value-only'], ROOT), 'green');
  });

  test('with a wrong password, or with no user and a certificate naming no user, requests are refused', async () => {
    await refused(
      ['get', 'app/color'],
      'rita:wrong',
      'Error: etcdserver: authentication failed, invalid user ID or password',
    );
    // No --user: the certificate's common name ("operator") is the user, and there is none.
    await refused(['get', 'app/color'], null, DENIED);
  });

  test("without a token, a verified client certificate's common name is the user (gRPC)", async () => {
    const asCertificate = async (commonName: string, args: string[]) =>
      etcdctl(args, null, await ca.issue(commonName));
    assert.deepEqual(await asCertificate('walt', ['put', 'app/by-cert', 'w']), { ok: true, out: 'OK' });
    assert.deepEqual(await asCertificate('rita', ['put', 'app/by-cert', 'r']), { ok: false, out: DENIED });
    assert.deepEqual(await asCertificate('nobody', ['get', 'app/by-cert']), { ok: false, out: DENIED });
    assert.equal(await ok(['get', 'app/by-cert', '--print-value-only'], ROOT), 'w');
  });

  test('right password, certificate from another CA: refused at the TLS handshake', async () => {
    const outcome = await etcdctl(['--dial-timeout=2s', 'get', 'app/color'], WRITER, stranger);
    assert.equal(outcome.ok, false, 'a stranger certificate must be refused');
    assert.doesNotMatch(outcome.out, /green/);
  });
});
