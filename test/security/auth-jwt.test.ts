// JWT tokens (--auth-token jwt,...): signed by the member that applies Authenticate, checked by
// any member with the public key alone; expiry, forgery and the auth revision end them.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JwtTokens } from '../../src/auth/jwt-tokens.js';
import { parseServerConfig } from '../../src/server/config.js';
import { FlotillaCluster } from '../support/flotilla.js';
import { AuthRpc } from './auth-rpc.js';

const keyDir = mkdtempSync(join(tmpdir(), 'flotilla-jwt-'));
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PRIVATE = join(keyDir, 'jwt.key');
const PUBLIC = join(keyDir, 'jwt.pub');
writeFileSync(PRIVATE, privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(PUBLIC, publicKey.export({ type: 'spki', format: 'pem' }));
after(() => rmSync(keyDir, { recursive: true, force: true }));

describe('JWT tokens', () => {
  const tokens = new JwtTokens({
    publicKeyFile: PUBLIC,
    privateKeyFile: PRIVATE,
    signMethod: 'ES256',
    ttlMs: 60_000,
  });
  const grant = { user: 'alice', prefix: 'unused', index: 7, authRevision: 12, issuedAtMs: 1_000_000 };

  test('a token names its user and the auth revision it was issued at', () => {
    const token = tokens.issue(grant);
    assert.equal(token.split('.').length, 3);
    assert.deepEqual(tokens.use(token, 1_000_000), { user: 'alice', authRevision: 12 });
  });

  test('an expired, altered or foreign token is refused', () => {
    const token = tokens.issue(grant);
    assert.equal(tokens.use(token, 1_000_000 + 61_000), null);
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ username: 'root', revision: 12, exp: 9_999_999_999 }),
    ).toString('base64url');
    assert.equal(tokens.use(`${header}.${forged}.${signature}`, 1_000_000), null);
    assert.equal(tokens.use('not-a-jwt', 1_000_000), null);
  });
});

describe('--auth-token', () => {
  const parse = (value: string) => parseServerConfig([`--auth-token=${value}`], {}).authToken;

  test("etcd's jwt options are read, ttl as a Go duration", () => {
    assert.deepEqual(parse(`jwt,pub-key=${PUBLIC},priv-key=${PRIVATE},sign-method=RS256,ttl=1m30s`), {
      type: 'jwt',
      publicKeyFile: PUBLIC,
      privateKeyFile: PRIVATE,
      signMethod: 'RS256',
      ttlMs: 90_000,
    });
    assert.deepEqual(parse('simple'), { type: 'simple' });
  });

  test('bad values are refused with a message naming the flag', () => {
    assert.throws(() => parse('paseto'), /--auth-token: 'paseto' must be 'simple' or 'jwt,...'/);
    assert.throws(
      () => parse(`jwt,pub-key=${PUBLIC},priv-key=${PRIVATE},sign-method=HS256`),
      /sign-method must be/,
    );
    assert.throws(
      () => parse(`jwt,pub-key=/nonexistent,priv-key=${PRIVATE},sign-method=ES256`),
      /does not exist/,
    );
    assert.throws(
      () => parse(`jwt,pub-key=${PUBLIC},priv-key=${PRIVATE},sign-method=ES256,ttl=5 minutes`),
      /ttl '5 minutes' must be a positive duration/,
    );
  });
});

describe('JWT tokens on a three-member cluster', () => {
  let cluster: FlotillaCluster;
  before(async () => {
    cluster = await FlotillaCluster.start(3, [
      '--bcrypt-cost=4',
      `--auth-token=jwt,pub-key=${PUBLIC},priv-key=${PRIVATE},sign-method=ES256,ttl=5m`,
    ]);
  });
  after(async () => cluster?.stop());

  test('a token from one member works on the others until the next auth change', async () => {
    const rpcs = [0, 1, 2].map((i) => new AuthRpc(cluster.address(i)));
    try {
      for (const [method, request] of [
        ['UserAdd', { name: 'root', password: 'rootpw' }],
        ['UserGrantRole', { user: 'root', role: 'root' }],
        ['AuthEnable', {}],
      ] as const) {
        assert.ok('response' in (await rpcs[0].call('Auth', method, request)), method);
      }
      const token = await rpcs[0].token('root', 'rootpw');
      assert.equal(token.split('.').length, 3, token);
      for (const rpc of rpcs) {
        const put = await rpc.call('KV', 'Put', { key: Buffer.from('k'), value: Buffer.from('v') }, token);
        assert.ok('response' in put, JSON.stringify(put));
      }
      assert.ok('response' in (await rpcs[1].call('Auth', 'RoleAdd', { name: 'r' }, token)));
      // The role added moved the auth revision past the token's.
      const stale = await rpcs[2].call('KV', 'Range', { key: Buffer.from('k') }, token);
      assert.deepEqual(stale, { error: { code: 3, details: 'etcdserver: revision of auth store is old' } });
      const fresh = await rpcs[2].token('root', 'rootpw');
      assert.ok('response' in (await rpcs[2].call('KV', 'Range', { key: Buffer.from('k') }, fresh)));
    } finally {
      for (const rpc of rpcs) rpc.close();
    }
  });
});
