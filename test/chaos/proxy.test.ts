// LinkProxy in front of real PeerTransports on loopback: pass, one-way drop and heal, delay in
// both directions, bounded delay queues, bad hellos, and close().

import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, test } from 'node:test';
import { LinkProxy, type LinkProxyOptions } from '../../src/chaos/proxy.js';
import { EntryType, type Message, MessageType, message } from '../../src/raft/types.js';
import { probeCluster } from '../../src/transport/discovery.js';
import { encodeFrame, FrameType } from '../../src/transport/frame.js';
import type { PeerTransport } from '../../src/transport/transport.js';
import {
  append,
  bytes,
  CLUSTER_ID,
  HOST,
  heartbeat,
  type Node,
  patternBytes,
  startNode,
  waitFor,
} from '../transport/helpers.js';

const A = 1n;
const B = 2n;
const DELAY_MS = 200;
/** Timer rounding: a setTimeout may fire up to about a millisecond before performance.now() says. */
const TIMER_SLACK_MS = 2;

let transports: PeerTransport[] = [];
let proxies: LinkProxy[] = [];
let logLines: string[] = [];

afterEach(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(transports.map((t) => t.close()));
  proxies = [];
  transports = [];
  logLines = [];
});

async function startProxy(
  target: Node,
  extra: Partial<LinkProxyOptions> = {},
): Promise<{ proxy: LinkProxy; port: number }> {
  const proxy = new LinkProxy({
    listenHost: HOST,
    listenPort: 0,
    targetHost: HOST,
    targetPort: target.port,
    targetMemberId: target.id,
    log: (line) => logLines.push(line),
    ...extra,
  });
  proxies.push(proxy);
  const { port } = await proxy.start();
  return { proxy, port };
}

interface Lab {
  readonly a: Node;
  readonly b: Node;
  /** In front of A: carries B's messages to A. */
  readonly proxyA: LinkProxy;
  /** In front of B: carries A's messages to B. */
  readonly proxyB: LinkProxy;
}

/** Two members, each behind its own proxy, as the fault lab wires them. */
async function startLab(proxyBOptions: Partial<LinkProxyOptions> = {}): Promise<Lab> {
  const a = await startNode(A, {}, transports);
  const b = await startNode(B, {}, transports);
  const { proxy: proxyA, port: portA } = await startProxy(a);
  const { proxy: proxyB, port: portB } = await startProxy(b, proxyBOptions);
  a.transport.addPeer(B, HOST, portB);
  b.transport.addPeer(A, HOST, portA);
  return { a, b, proxyA, proxyB };
}

function hasCommit(received: readonly Message[], commit: number): boolean {
  return received.some((m) => m.type === MessageType.Heartbeat && m.commit === commit);
}

/**
 * Sends a heartbeat each way and an append A→B and waits for them, so both of A's lanes (priority
 * and bulk) and B's priority lane have connections open through the proxies.
 */
async function warmUp(lab: Lab): Promise<void> {
  lab.a.transport.send(heartbeat(A, B, 1));
  lab.a.transport.send(append(A, B, 0));
  lab.b.transport.send(heartbeat(B, A, 1));
  await waitFor(
    () => hasCommit(lab.b.received, 1) && hasCommit(lab.a.received, 1) && lab.b.received.length === 2,
    'warm-up messages',
  );
}

/**
 * Resolves once both of A's lanes to B have noticed their connections closing (each reports B
 * unreachable once). A message sent before that could be written into a socket the proxy already
 * closed and be lost (delivery is at most once), which would make "it arrives after heal" flaky.
 */
async function waitUntilACutOff(lab: Lab, unreachableBefore: number): Promise<void> {
  await waitFor(() => lab.a.unreachable.length >= unreachableBefore + 2, 'A noticing the cut');
}

/** Resolves when the server closes `socket`; rejects if it stays open past the bounded wait. */
function closedByServer(port: number, payload: Uint8Array | null): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = createConnection({ host: HOST, port }, () => {
      if (payload !== null) socket.write(payload);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the proxy did not close the connection'));
    }, 5_000);
    socket.on('data', () => {});
    // A reset instead of a clean close is still a close.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('pass: messages flow through proxies both ways, in order', async () => {
  const lab = await startLab();
  const count = 200;
  for (let i = 0; i < count; i++) lab.a.transport.send(append(A, B, i));
  for (let i = 0; i < count; i++) lab.b.transport.send(heartbeat(B, A, i));
  await waitFor(() => lab.b.received.length === count && lab.a.received.length === count, 'all messages');
  for (let i = 0; i < count; i++) {
    assert.deepEqual(lab.b.received[i], append(A, B, i));
    assert.equal(lab.a.received[i]!.commit, i);
  }
  const stats = lab.proxyB.stats();
  assert.ok(stats.connections >= 1, 'A has a connection open through B’s proxy');
  assert.ok(stats.bytesForwarded > 0);
  assert.equal(stats.bytesDropped, 0);
  assert.equal(stats.connectionsCut, 0);
  assert.equal(lab.b.transport.stats().handshakesRefused, 0);
});

test('drop A→B at B’s proxy is one-way: B still reaches A; heal restores A→B', async () => {
  const lab = await startLab();
  await warmUp(lab);
  const openBefore = lab.proxyB.stats().connections;
  assert.equal(openBefore, 2, 'A’s priority and bulk lanes');
  const unreachableBefore = lab.a.unreachable.length;

  lab.proxyB.setRule(A, { kind: 'drop' });
  // Cut at once, not on the next byte.
  assert.equal(lab.proxyB.stats().connectionsCut, openBefore);
  assert.equal(lab.proxyB.stats().connections, 0);
  await waitUntilACutOff(lab, unreachableBefore);

  lab.a.transport.send(heartbeat(A, B, 100));
  lab.b.transport.send(heartbeat(B, A, 200));
  await waitFor(() => hasCommit(lab.a.received, 200), 'B’s message reaching A');
  // A keeps redialling with backoff; each attempt is closed right after its Hello.
  await waitFor(() => lab.proxyB.stats().connectionsRefused >= 2, 'A’s redials being refused');
  assert.ok(!hasCommit(lab.b.received, 100), 'A’s message must not reach B while the link is down');
  assert.equal(lab.proxyA.stats().connectionsCut, 0);

  lab.proxyB.healAll();
  // The heartbeat waited in A's lane queue; the next redial delivers it.
  await waitFor(() => hasCommit(lab.b.received, 100), 'A’s message after heal');
  lab.a.transport.send(heartbeat(A, B, 101));
  await waitFor(() => hasCommit(lab.b.received, 101), 'A→B flowing again');
  assert.ok(logLines.some((l) => /cut \(link down\)/.test(l)));
});

test('a reply drop also cuts and refuses the peer’s connections (replies share its TCP connection)', async () => {
  const lab = await startLab();
  await warmUp(lab);
  const unreachableBefore = lab.a.unreachable.length;
  lab.proxyB.setReplyRule(A, { kind: 'drop' });
  assert.equal(lab.proxyB.stats().connectionsCut, 2);
  await waitUntilACutOff(lab, unreachableBefore);
  lab.a.transport.send(heartbeat(A, B, 300));
  await waitFor(() => lab.proxyB.stats().connectionsRefused >= 1, 'A’s redial being refused');
  assert.ok(!hasCommit(lab.b.received, 300));
  lab.proxyB.setReplyRule(A, { kind: 'pass' });
  await waitFor(() => hasCommit(lab.b.received, 300), 'A’s message after the reply rule is lifted');
});

test('delay holds A→B delivery for at least delayMs and keeps order', async () => {
  const lab = await startLab();
  await warmUp(lab);
  lab.proxyB.setRule(A, { kind: 'delay', delayMs: DELAY_MS });

  const sentAtMs = performance.now();
  lab.a.transport.send(heartbeat(A, B, 10));
  await waitFor(() => hasCommit(lab.b.received, 10), 'the delayed heartbeat');
  const elapsedMs = performance.now() - sentAtMs;
  assert.ok(elapsedMs >= DELAY_MS - TIMER_SLACK_MS, `delivered after ${elapsedMs} ms`);

  const first = lab.b.received.length;
  const count = 50;
  for (let i = 0; i < count; i++) lab.a.transport.send(append(A, B, 1000 + i));
  await waitFor(() => lab.b.received.length === first + count, 'the delayed appends');
  for (let i = 0; i < count; i++) assert.deepEqual(lab.b.received[first + i], append(A, B, 1000 + i));
  // B→A is untouched by A's rule at B's proxy.
  assert.equal(lab.proxyA.stats().bytesQueued, 0);
});

test('switching a delay back to pass releases held bytes at once', async () => {
  const lab = await startLab();
  await warmUp(lab);
  lab.proxyB.setRule(A, { kind: 'delay', delayMs: 30_000 });
  lab.a.transport.send(heartbeat(A, B, 20));
  await waitFor(() => lab.proxyB.stats().bytesQueued > 0, 'the heartbeat held at the proxy');
  lab.proxyB.setRule(A, { kind: 'pass' });
  // Far below the 30 s delay: the held bytes went out when the rule changed.
  await waitFor(() => hasCommit(lab.b.received, 20), 'the released heartbeat', 5_000);
  assert.equal(lab.proxyB.stats().bytesQueued, 0);
});

test('a reply delay holds the member’s HelloAccept, so a fresh connection delivers late', async () => {
  const lab = await startLab();
  lab.proxyB.setReplyRule(A, { kind: 'delay', delayMs: DELAY_MS });
  const sentAtMs = performance.now();
  // A's lane writes its messages only after the HelloAccept comes back through the proxy.
  lab.a.transport.send(heartbeat(A, B, 30));
  await waitFor(() => hasCommit(lab.b.received, 30), 'the heartbeat');
  const elapsedMs = performance.now() - sentAtMs;
  assert.ok(elapsedMs >= DELAY_MS - TIMER_SLACK_MS, `delivered after ${elapsedMs} ms`);
});

test('a connection with more than queuedBytesMax delayed is cut and counted', async () => {
  const queuedBytesMax = 4096;
  const lab = await startLab({ queuedBytesMax });
  await warmUp(lab);
  lab.proxyB.setRule(A, { kind: 'delay', delayMs: 30_000 });
  const big = message({
    type: MessageType.Append,
    from: A,
    to: B,
    term: 2,
    logTerm: 2,
    index: 1,
    entries: [{ term: 2, index: 2, type: EntryType.Normal, data: patternBytes(4 * queuedBytesMax, 7) }],
  });
  lab.a.transport.send(big);
  await waitFor(() => lab.proxyB.stats().queueOverflows >= 1, 'the queue overflow');
  const stats = lab.proxyB.stats();
  assert.ok(stats.connectionsCut >= 1);
  assert.ok(stats.bytesDropped > 0);
  assert.ok(stats.bytesQueued <= queuedBytesMax);
});

test('garbage, a non-Hello first frame, an oversized frame or silence is closed without dialling', async () => {
  const b = await startNode(B, {}, transports);
  const { proxy, port } = await startProxy(b, { helloTimeoutMs: 100 });
  await closedByServer(port, bytes(0xde, 0xad, 0xbe, 0xef, 0xff, 1, 2, 3));
  await closedByServer(port, encodeFrame(FrameType.Message, bytes(1, 2, 3)));
  // Length prefix 1 MiB: refused from the prefix, beyond the 64 KiB Hello bound.
  await closedByServer(port, bytes(0x00, 0x10, 0x00, 0x00, FrameType.Hello));
  await closedByServer(port, null);
  const stats = proxy.stats();
  assert.equal(stats.hellosRejected, 4);
  assert.equal(stats.connections, 0);
  assert.equal(stats.targetFailures, 0);
  assert.equal(b.transport.stats().inboundConnections, 0);
  assert.equal(b.transport.stats().frameErrors, 0, 'nothing reached the member');
});

test('a discovery probe (from id 0) passes through', async () => {
  const b = await startNode(
    B,
    { clusterInfo: () => ({ clusterId: CLUSTER_ID, members: [{ id: B, peerUrls: ['http://x:1'] }] }) },
    transports,
  );
  const { port } = await startProxy(b);
  const info = await probeCluster(HOST, port, 5_000);
  assert.equal(info.clusterId, CLUSTER_ID);
});

test('close() stops listening and destroys every connection', async () => {
  const lab = await startLab();
  await warmUp(lab);
  assert.ok(lab.proxyB.stats().connections >= 1);
  await waitFor(() => lab.b.transport.stats().inboundConnections >= 1, 'B’s inbound connection');
  await lab.proxyB.close();
  assert.equal(lab.proxyB.stats().connections, 0);
  await waitFor(() => lab.b.transport.stats().inboundConnections === 0, 'B’s side closing');
  await lab.proxyB.close(); // idempotent
});

test('options and rules are validated', () => {
  const base = { listenPort: 0, targetHost: HOST, targetPort: 1 };
  assert.throws(() => new LinkProxy({ ...base, listenHost: '0.0.0.0' }), /loopback/);
  const proxy = new LinkProxy({ ...base, listenHost: HOST });
  assert.throws(() => proxy.setRule(A, { kind: 'delay', delayMs: -1 }), /delayMs/);
  assert.throws(() => proxy.setRule(A, { kind: 'delay', delayMs: 1.5 }), /delayMs/);
});
