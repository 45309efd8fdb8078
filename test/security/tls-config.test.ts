// The TLS flags, parsed at the edge: etcd's names and its rules (an https:// listen URL needs a
// key pair), bare boolean flags as etcd accepts them, and unreadable or mismatched files refused
// at startup with the flag named.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseServerConfig } from '../../src/server/config.js';
import { loadTlsMaterial } from '../../src/server/tls.js';
import { type KeyPair, TestCa } from '../support/tls.js';

let ca: TestCa;
let other: KeyPair;
let pair: KeyPair;

before(async () => {
  ca = await TestCa.create('config-ca');
  pair = await ca.issue('m1');
  other = await ca.issue('m2');
});
after(() => ca?.dispose());

const httpsUrls = [
  '--listen-client-urls=https://127.0.0.1:2379',
  '--listen-peer-urls=https://127.0.0.1:2380',
];

test('https:// URLs with key pairs; --client-cert-auth and --peer-client-cert-auth given bare', () => {
  const config = parseServerConfig(
    [
      ...httpsUrls,
      `--cert-file=${pair.cert}`,
      `--key-file=${pair.key}`,
      `--trusted-ca-file=${ca.cert}`,
      '--client-cert-auth',
      `--peer-cert-file=${pair.cert}`,
      `--peer-key-file=${pair.key}`,
      `--peer-trusted-ca-file=${ca.cert}`,
      '--peer-client-cert-auth',
    ],
    {},
  );
  assert.deepEqual(config.clientTls, {
    certFile: pair.cert,
    keyFile: pair.key,
    trustedCaFile: ca.cert,
    clientCertAuth: true,
  });
  assert.equal(config.peerTls.clientCertAuth, true);
  assert.deepEqual(config.advertiseClientUrls, ['https://127.0.0.1:2379']);
  assert.deepEqual(config.initialCluster, [{ name: 'default', peerUrl: 'https://127.0.0.1:2380' }]);
  assert.equal(loadTlsMaterial(config.peerTls, 'peer-')?.clientCertAuth, true);
});

test('without any TLS flag nothing changes: plain http, no material', () => {
  const config = parseServerConfig([], {});
  assert.equal(config.clientTls.certFile, null);
  assert.equal(config.clientTls.clientCertAuth, false);
  assert.equal(loadTlsMaterial(config.clientTls, ''), null);
});

for (const [args, message] of [
  [
    ['--listen-client-urls=https://127.0.0.1:2379'],
    /^TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127\.0\.0\.1:2379 with HTTPS scheme$/,
  ],
  [
    ['--listen-peer-urls=https://127.0.0.1:2380'],
    /^TLS key\/cert \(--peer-cert-file, --peer-key-file\) must be provided for peer url https:\/\/127\.0\.0\.1:2380 with HTTPS scheme$/,
  ],
  [['--cert-file=/x.crt'], /--cert-file and --key-file must be given together/],
  [['--client-cert-auth'], /--client-cert-auth needs --trusted-ca-file/],
  [['--peer-client-cert-auth=maybe'], /--peer-client-cert-auth: 'maybe' must be true or false/],
  [['--listen-client-urls=ftp://127.0.0.1:2379'], /must be an http:\/\/ or https:\/\/ URL/],
] as const) {
  test(`refused with a message naming the flag: ${args.join(' ')}`, () => {
    assert.throws(() => parseServerConfig(args, {}), { name: 'ConfigError', message });
  });
}

test('an unreadable file or a key that does not match its certificate stops startup, naming the flag', () => {
  const missing = parseServerConfig(['--peer-cert-file=/nonexistent.crt', `--peer-key-file=${pair.key}`], {});
  assert.throws(
    () => loadTlsMaterial(missing.peerTls, 'peer-'),
    /--peer-cert-file: cannot read \/nonexistent\.crt/,
  );
  const mismatched = parseServerConfig([`--cert-file=${pair.cert}`, `--key-file=${other.key}`], {});
  assert.throws(
    () => loadTlsMaterial(mismatched.clientTls, ''),
    /--cert-file .*, --key-file .*: .*key values mismatch/,
  );
});
