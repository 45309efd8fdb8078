// TLS and mutual TLS on a real three-member cluster: https:// client and peer URLs, both
// client-cert-auth flags on, certificates from a CA made for this run (test/support/tls.ts).
// Clients nobody here wrote (etcdctl, curl, the etcd3 npm client) talk to it over TLS; callers
// without a certificate from the cluster's CA are refused at the handshake and the member logs
// who and why; a member whose peer certificate comes from another CA never joins.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { waitFor } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';
import { LOOPBACK_HOST } from '../support/ports.js';
import { type KeyPair, OPENSSL, TestCa } from '../support/tls.js';
import { TlsCluster } from '../support/tls-cluster.js';

const run = promisify(execFile);
const ETCDCTL = process.env.FLOTILLA_ETCDCTL_BIN ?? '/usr/bin/etcdctl';
const CURL = process.env.FLOTILLA_CURL_BIN ?? '/usr/bin/curl';
const missing = [ETCDCTL, CURL, OPENSSL].filter((bin) => !existsSync(bin));
const skip = missing.length === 0 ? false : process.env.CI ? false : `${missing.join(', ')} not installed`;
/** Discovery tries each member for at most 3 s; a refused one answers at once. */
const ROGUE_GIVES_UP_WITHIN_MS = 30_000;
/** etcdctl gives up on a refused endpoint after this; the refusal itself is immediate. */
const REFUSED_CLIENT_TIMEOUT = ['--dial-timeout=2s', '--command-timeout=3s'];

describe('TLS and mutual TLS on a three-member cluster', { skip }, () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let cluster: TlsCluster;
  let client: KeyPair;
  let stranger: KeyPair;

  /** etcdctl against every member; `pair` null = no client certificate. */
  const etcdctl = async (pair: KeyPair | null, ...args: string[]) => {
    const credentials = pair === null ? [] : [`--cert=${pair.cert}`, `--key=${pair.key}`];
    const { stdout } = await run(
      ETCDCTL,
      [`--endpoints=${cluster.endpoints}`, `--cacert=${ca.cert}`, ...credentials, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    );
    return stdout;
  };
  const curlCredentials = () => ['--cacert', ca.cert, '--cert', client.cert, '--key', client.key];
  const logs = () => cluster.members.map((m) => m.output).join('\n');
  /** Waits until some member's log has a line matching `pattern` (logging is asynchronous). */
  const logged = (pattern: RegExp) =>
    waitFor(`a log line matching ${pattern}`, 10_000, async () => (pattern.test(logs()) ? true : undefined));

  before(async () => {
    ca = await TestCa.create('flotilla-test-ca');
    otherCa = await TestCa.create('other-ca');
    client = await ca.issue('client');
    stranger = await otherCa.issue('stranger');
    cluster = await TlsCluster.start(3, ca);
  });
  after(async () => {
    await cluster?.stop();
    ca?.dispose();
    otherCa?.dispose();
  });

  test('etcdctl over gRPC+TLS with a client certificate: put, get, member list', async () => {
    assert.equal((await etcdctl(client, 'put', 'tls/greeting', 'hello')).trim(), 'OK');
    assert.equal(await etcdctl(client, 'get', 'tls/greeting', '--print-value-only'), 'hello\n');
    const members = await etcdctl(client, 'member', 'list');
    for (let i = 0; i < 3; i++) {
      assert.match(
        members,
        new RegExp(`, started, m${i + 1}, ${cluster.peerUrl(i)}, ${cluster.clientUrl(i)}, false`),
      );
    }
  });

  test('etcdctl without a client certificate is refused, and the member logs who and why', async () => {
    await assert.rejects(
      etcdctl(null, ...REFUSED_CLIENT_TIMEOUT, 'get', 'tls/greeting'),
      /deadline exceeded/,
    );
    await logged(/rejected client TLS connection from 127\.0\.0\.1:\d+: no client certificate/);
  });

  test('etcdctl with a certificate from another CA is refused, and the member logs who and why', async () => {
    await assert.rejects(
      etcdctl(stranger, ...REFUSED_CLIENT_TIMEOUT, 'get', 'tls/greeting'),
      /deadline exceeded/,
    );
    await logged(
      /rejected client TLS connection from 127\.0\.0\.1:\d+: client certificate CN=stranger issued by CN=other-ca rejected/,
    );
  });

  test('curl reaches the JSON gateway over https (it offers h2 and http/1.1)', async () => {
    const key = Buffer.from('tls/greeting').toString('base64');
    const { stdout } = await run(CURL, [
      '-sS',
      '--fail',
      ...curlCredentials(),
      `${cluster.clientUrl(0)}/v3/kv/range`,
      '-d',
      JSON.stringify({ key }),
    ]);
    const body = JSON.parse(stdout);
    assert.equal(body.count, '1');
    assert.equal(Buffer.from(body.kvs[0].value, 'base64').toString(), 'hello');
    const version = await run(CURL, [
      '-sS',
      '--fail',
      ...curlCredentials(),
      `${cluster.clientUrl(1)}/version`,
    ]);
    assert.deepEqual(JSON.parse(version.stdout), { etcdserver: '3.4.0', etcdcluster: '3.4.0' });
  });

  test('the gateway over https from node:https; without a client certificate it is refused', async () => {
    const post = (pair: KeyPair | null) =>
      new Promise<string>((resolve, reject) => {
        const request = https.request(
          `${cluster.clientUrl(2)}/v3/kv/put`,
          {
            method: 'POST',
            ca: readFileSync(ca.cert),
            ...(pair === null ? {} : { cert: readFileSync(pair.cert), key: readFileSync(pair.key) }),
          },
          (response) => {
            let text = '';
            response.on('data', (chunk) => (text += chunk));
            response.on('end', () => resolve(text));
          },
        );
        request.on('error', reject);
        request.end(JSON.stringify({ key: Buffer.from('tls/https').toString('base64'), value: 'eA==' }));
      });
    assert.match(await post(client), /"revision":"\d+"/);
    await assert.rejects(post(null), /certificate required|ECONNRESET|socket hang up/);
  });

  test('a plain http client on a TLS client port fails cleanly and the port keeps serving', async () => {
    const error = await new Promise<Error>((resolve) => {
      const request = http.request(`http://${LOOPBACK_HOST}:${cluster.members[0].clientPort}/version`, () =>
        resolve(new Error('a plain HTTP request got an HTTP response from a TLS port')),
      );
      request.on('error', resolve);
      request.end();
    });
    assert.match(error.message, /socket hang up|ECONNRESET/);
    await logged(/rejected client TLS connection from 127\.0\.0\.1:\d+: TLS handshake failed: http request/);
    assert.equal(await etcdctl(client, 'get', 'tls/greeting', '--print-value-only'), 'hello\n');
  });

  test('the etcd3 npm client over TLS; lease calls on a follower are forwarded to the leader over TLS', async () => {
    const leader = await cluster.waitReady();
    const followerIndex = await indexWhere(cluster, client, (memberId) => memberId !== leader);
    const etcd = new Etcd3({
      hosts: [cluster.clientUrl(followerIndex)],
      credentials: {
        rootCertificate: readFileSync(ca.cert),
        privateKey: readFileSync(client.key),
        certChain: readFileSync(client.cert),
      },
    });
    try {
      await etcd.put('tls/etcd3').value('v');
      assert.equal(await etcd.get('tls/etcd3').string(), 'v');
      const lease = etcd.lease(30, { autoKeepAlive: false });
      await lease.grant();
      // Only the leader answers keep-alive: the follower dials the leader's
      // https:// client URL with its own certificate (leader-proxy.ts).
      const kept = await lease.keepaliveOnce();
      assert.equal(String(kept.TTL), '30');
      await lease.revoke();
    } finally {
      etcd.close();
    }
  });

  test('a member with a peer certificate from another CA cannot join; the refusal is logged', async () => {
    const rogueIndex = await cluster.addSpec(await otherCa.issue('rogue'));
    const added = await etcdctl(
      client,
      'member',
      'add',
      'm4',
      `--peer-urls=${cluster.peerUrl(rogueIndex)}`,
      '--learner',
    );
    const id = /Member\s+([0-9a-f]+) added/.exec(added)?.[1];
    assert.ok(id, added);
    cluster.spawn(rogueIndex, 'existing');
    const rogue = cluster.members[rogueIndex];
    // It trusts the cluster's CA, so the refusal is the cluster's: its certificate is not ours.
    const code = await exitedWithin(rogue.exited, ROGUE_GIVES_UP_WITHIN_MS);
    rogue.process = null;
    assert.notEqual(code, 0, rogue.output);
    assert.match(
      rogue.output,
      /closed the TLS connection without answering: it may have refused this member's certificate/,
    );
    await logged(
      /refused TLS connection from 127\.0\.0\.1:\d+: client certificate CN=rogue issued by CN=other-ca rejected/,
    );
    // Never part of the cluster: still unstarted (no name published), and the cluster serves.
    const list = await etcdctl(client, 'member', 'list');
    assert.match(list, new RegExp(`${id}, unstarted, , ${cluster.peerUrl(rogueIndex)}, , true`));
    assert.equal((await etcdctl(client, 'put', 'tls/after-rogue', 'still')).trim(), 'OK');
    await etcdctl(client, 'member', 'remove', id);
  });
});

/** Index of the first member whose member id satisfies `predicate`, asked over TLS. */
async function indexWhere(
  cluster: TlsCluster,
  pair: KeyPair,
  predicate: (memberId: string) => boolean,
): Promise<number> {
  for (let i = 0; i < cluster.members.length; i++) {
    const member = cluster.members[i];
    if (member.process === null) continue;
    const grpcClient = new EtcdClient(`${LOOPBACK_HOST}:${member.clientPort}`, cluster.credentials(pair));
    try {
      const status = await grpcClient.status();
      if (!('error' in status) && predicate(String(status.response.header?.member_id))) return i;
    } finally {
      grpcClient.close();
    }
  }
  throw new Error('no member matches');
}

/** The exit code, or a failure (not a hang) if the process is still running after `timeoutMs`. */
function exitedWithin(exited: Promise<number | null>, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
}
