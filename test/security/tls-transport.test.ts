// Peer TLS at the transport layer: Raft messages flow between members whose certificates come
// from the cluster's CA; a process whose certificate comes from another CA (or that has none,
// or that speaks plain TCP) is refused at the TLS handshake, so not one of its Raft messages
// reaches the node, and the refusal is logged with the caller's address and the reason.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import { listenerTlsOptions, type TlsMaterial } from '../../src/server/tls.js';
import type { PeerTlsOptions } from '../../src/transport/config.js';
import type { PeerTransport } from '../../src/transport/transport.js';
import { type KeyPair, TestCa } from '../support/tls.js';
import { HOST, heartbeat, startNode, waitFor } from '../transport/helpers.js';

let ca: TestCa;
let otherCa: TestCa;
/** Members a and b (from the cluster's CA) and an intruder (from another CA). */
let a: KeyPair;
let b: KeyPair;
let intruderPair: KeyPair;
let opened: PeerTransport[] = [];

before(async () => {
  ca = await TestCa.create('peer-ca');
  otherCa = await TestCa.create('other-peer-ca');
  a = await ca.issue('a');
  b = await ca.issue('b');
  intruderPair = await otherCa.issue('intruder');
});
after(() => {
  ca?.dispose();
  otherCa?.dispose();
});
afterEach(async () => {
  await Promise.all(opened.map((t) => t.close()));
  opened = [];
});

/** What node.ts builds from --peer-cert-file, --peer-key-file, --peer-trusted-ca-file. */
function peerTls(pair: KeyPair | null, trustedCa: string, clientCertAuth = true): PeerTlsOptions {
  const ca = readFileSync(trustedCa);
  if (pair === null) return { listen: null, dial: { ca } };
  const material: TlsMaterial = {
    cert: readFileSync(pair.cert),
    key: readFileSync(pair.key),
    ca,
    clientCertAuth,
  };
  return { listen: listenerTlsOptions(material), dial: { cert: material.cert, key: material.key, ca } };
}

test('two members with peer certificates from the cluster CA exchange Raft messages over TLS', async () => {
  const nodeA = await startNode(1n, { tls: peerTls(a, ca.cert) }, opened);
  const nodeB = await startNode(2n, { tls: peerTls(b, ca.cert) }, opened);
  nodeA.transport.addPeer(2n, HOST, nodeB.port, true);
  nodeB.transport.addPeer(1n, HOST, nodeA.port, true);
  for (let i = 0; i < 50; i++) nodeA.transport.send(heartbeat(1n, 2n, i));
  nodeB.transport.send(heartbeat(2n, 1n, 7));
  await waitFor(() => nodeB.received.length === 50 && nodeA.received.length === 1, 'messages both ways');
  assert.deepEqual(
    nodeB.received.map((m) => m.commit),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.equal(nodeB.transport.stats().handshakesRefused, 0);
});

for (const [caller, how] of [
  ['a certificate from another CA', 'other-ca'],
  ['no certificate', 'none'],
  ['plain TCP', 'plain'],
] as const) {
  test(`a process with ${caller} cannot send Raft messages; the refusal names it and why`, async () => {
    const node = await startNode(2n, { tls: peerTls(b, ca.cert) }, opened);
    // The intruder trusts the cluster's CA, so the refusal is b's, not the intruder's.
    const tls = how === 'other-ca' ? peerTls(intruderPair, ca.cert) : peerTls(null, ca.cert);
    const intruder = await startNode(1n, { tls }, opened);
    intruder.transport.addPeer(2n, HOST, node.port, how !== 'plain');
    intruder.transport.send(heartbeat(1n, 2n, 1));
    await waitFor(() => node.transport.stats().handshakesRefused >= 2, 'refused handshakes (with retries)');
    const expected = {
      'other-ca': /client certificate CN=intruder issued by CN=other-peer-ca rejected/,
      none: /no client certificate/,
      plain: /TLS handshake failed/,
    }[how];
    const refusal = node.logs.find(
      (l) => l.level === 'warn' && /refused TLS connection from/.test(l.message),
    );
    assert.ok(refusal, JSON.stringify(node.logs));
    assert.match(refusal.message, /refused TLS connection from 127\.0\.0\.1:\d+: /);
    assert.match(refusal.message, expected);
    assert.equal(node.received.length, 0, 'no message from the intruder reached the node');
    if (how === 'other-ca') {
      // The intruder's own log says what happened to it, not just that the connection closed.
      assert.ok(
        intruder.logs.some(
          (l) =>
            l.level === 'warn' && /the peer most likely refused this member's certificate/.test(l.message),
        ),
        JSON.stringify(intruder.logs),
      );
    }
    assert.equal(node.transport.stats().messagesReceived, 0);
  });
}

test('without peer-client-cert-auth, a member with no certificate is served (etcd semantics)', async () => {
  const node = await startNode(2n, { tls: peerTls(b, ca.cert, false) }, opened);
  const anonymous = await startNode(1n, { tls: peerTls(null, ca.cert) }, opened);
  anonymous.transport.addPeer(2n, HOST, node.port, true);
  anonymous.transport.send(heartbeat(1n, 2n, 3));
  await waitFor(() => node.received.length === 1, 'the message');
  assert.equal(node.received[0]!.commit, 3);
});
