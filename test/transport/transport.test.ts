import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { afterEach, test } from 'node:test';
import { type Message, MessageType, message } from '../../src/raft/types.js';
import { probeCluster } from '../../src/transport/discovery.js';
import { encodeFrame, FrameType } from '../../src/transport/frame.js';
import type { PeerTransport } from '../../src/transport/transport.js';
import {
  append,
  CLUSTER_ID,
  HOST,
  heartbeat,
  patternBytes,
  snapshotMessage,
  startNode,
  WAIT_TIMEOUT_MS,
  waitFor,
} from './helpers.js';

/** Every transport a test opens; closed after each test whether it passed or not. */
let opened: PeerTransport[] = [];

afterEach(async () => {
  await Promise.all(opened.map((t) => t.close()));
  opened = [];
});

test('two transports on loopback exchange messages in order, both directions', async () => {
  const a = await startNode(1n, {}, opened);
  const b = await startNode(2n, {}, opened);
  a.transport.addPeer(2n, HOST, b.port);
  b.transport.addPeer(1n, HOST, a.port);
  const count = 500;
  for (let i = 0; i < count; i++) a.transport.send(append(1n, 2n, i, 1 + (i % 3)));
  for (let i = 0; i < count; i++) b.transport.send(heartbeat(2n, 1n, i));
  await waitFor(() => b.received.length === count && a.received.length === count, 'all messages');
  for (let i = 0; i < count; i++) {
    assert.deepEqual(b.received[i], append(1n, 2n, i, 1 + (i % 3)));
    assert.equal(a.received[i]!.commit, i);
  }
  assert.equal(a.transport.stats().messagesSent, count);
  assert.equal(b.transport.stats().messagesReceived, count);
  assert.equal(b.transport.stats().handshakesRefused, 0);
});

test('a message sent this turn leaves after the turn: what else the turn wrote goes first; flush() sends it at once', async () => {
  const a = await startNode(1n, {}, opened);
  const b = await startNode(2n, {}, opened);
  a.transport.addPeer(2n, HOST, b.port);
  a.transport.send(heartbeat(1n, 2n, 0));
  await waitFor(() => b.received.length === 1, 'the lane to connect');
  const sentBefore = a.transport.stats().messagesSent;
  a.transport.send(heartbeat(1n, 2n, 1));
  // Scheduled in the same turn as the send, after it: runs before the message is written.
  const sentAfterOneTurn = await new Promise<number>((resolve) =>
    setImmediate(() => resolve(a.transport.stats().messagesSent)),
  );
  assert.equal(sentAfterOneTurn, sentBefore);
  await waitFor(() => b.received.length === 2, 'the deferred message');
  a.transport.send(heartbeat(1n, 2n, 2));
  a.transport.flush();
  assert.equal(a.transport.stats().messagesSent, sentBefore + 2);
  await waitFor(() => b.received.length === 3, 'the flushed message');
});

test('a peer from another cluster is refused, logged and counted', async () => {
  const b = await startNode(2n, {}, opened);
  const stranger = await startNode(1n, { clusterId: CLUSTER_ID + 1n }, opened);
  stranger.transport.addPeer(2n, HOST, b.port);
  stranger.transport.send(heartbeat(1n, 2n, 1));
  await waitFor(() => b.transport.stats().handshakesRefused >= 1, 'a refused handshake');
  await waitFor(
    () => stranger.transport.stats().handshakesRefusedByPeer >= 1,
    'the refusal reaching the dialler',
  );
  assert.ok(b.logs.some((l) => l.level === 'warn' && /refused hello.*cluster id/.test(l.message)));
  assert.ok(stranger.logs.some((l) => /refused by peer: cluster id/.test(l.message)));
  assert.ok(stranger.unreachable.includes(2n), 'the dialler reports the peer unreachable');
  assert.equal(b.received.length, 0);
});

test('a peer addressed to another member id is refused', async () => {
  const b = await startNode(2n, {}, opened);
  const a = await startNode(1n, {}, opened);
  // a believes member 3 lives at b's address (a stale address after a member was replaced).
  a.transport.addPeer(3n, HOST, b.port);
  a.transport.send(heartbeat(1n, 3n, 1));
  await waitFor(() => b.transport.stats().handshakesRefused >= 1, 'a refused handshake');
  assert.ok(b.logs.some((l) => /addressed to member 3/.test(l.message)));
  assert.equal(b.received.length, 0);
});

test('a raw connection sending garbage or a misaddressed message is closed and counted', async () => {
  const b = await startNode(2n, {}, opened);
  const closed = (payload: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      const socket = createConnection({ host: HOST, port: b.port }, () => socket.end(payload));
      socket.on('data', () => {});
      socket.on('error', reject);
      socket.on('close', () => resolve());
    });
  await closed(encodeFrame(FrameType.Message, Uint8Array.from([1, 2, 3]))); // no hello first
  await closed(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 4])); // oversized length
  await waitFor(() => b.transport.stats().frameErrors >= 2, 'two frame errors');
  assert.equal(b.received.length, 0);
});

test('a peer that restarts on the same port is reconnected to and messages flow again', async () => {
  const a = await startNode(1n, {}, opened);
  const b1 = await startNode(2n, {}, opened);
  a.transport.addPeer(2n, HOST, b1.port);
  a.transport.send(heartbeat(1n, 2n, 1));
  await waitFor(() => b1.received.length === 1, 'the first heartbeat');
  await b1.transport.close();
  await waitFor(() => a.unreachable.includes(2n), 'the peer reported unreachable');
  // Sent while the peer is down: queued (bounded), then delivered after the reconnect.
  a.transport.send(heartbeat(1n, 2n, 2));
  const b2 = await startNode(2n, { listenPort: b1.port }, opened);
  await waitFor(() => b2.received.some((m) => m.commit === 2), 'the heartbeat queued during the outage');
  a.transport.send(heartbeat(1n, 2n, 3));
  a.transport.send(append(1n, 2n, 7));
  await waitFor(
    () => b2.received.some((m) => m.commit === 3) && b2.received.some((m) => m.index === 7),
    'more',
  );
  assert.ok(a.transport.stats().connectionsFailed >= 1);
  assert.equal(a.transport.stats().peers[0]!.priority.state, 'ready');
});

test('a heartbeat is delivered while a 20 MiB snapshot is streaming to the same peer', async () => {
  let snapshotDelivered = false;
  let heartbeatBeforeSnapshot: boolean | null = null;
  const received: Message[] = [];
  const a = await startNode(1n, {}, opened);
  const b = await startNode(
    2n,
    {
      onMessage: (m) => {
        received.push(m);
        if (m.type === MessageType.Snapshot) snapshotDelivered = true;
        if (m.type === MessageType.Heartbeat && m.commit === 42) heartbeatBeforeSnapshot = !snapshotDelivered;
      },
    },
    opened,
  );
  a.transport.addPeer(2n, HOST, b.port);
  // Warm both lanes up, so the comparison is not about who finished the handshake first.
  a.transport.send(heartbeat(1n, 2n, 1));
  a.transport.send(append(1n, 2n, 1));
  await waitFor(() => received.length === 2, 'both lanes connected');
  const data = patternBytes(20 * 1024 * 1024, 7);
  a.transport.send(snapshotMessage(1n, 2n, data));
  a.transport.send(heartbeat(1n, 2n, 42));
  await waitFor(() => snapshotDelivered, 'the snapshot', 30_000);
  assert.equal(heartbeatBeforeSnapshot, true, 'the heartbeat did not wait for the snapshot');
  const snapshot = received.find((m) => m.type === MessageType.Snapshot)!;
  assert.equal(Buffer.compare(snapshot.snapshot!.data, data), 0);
});

test('a snapshot of a few MiB arrives intact and onSnapshotSent fires', async () => {
  const a = await startNode(1n, { snapshotChunkBytes: 256 * 1024 }, opened);
  const b = await startNode(2n, {}, opened);
  a.transport.addPeer(2n, HOST, b.port);
  const data = patternBytes(3 * 1024 * 1024 + 17, 11); // not a multiple of the chunk size
  const sent = snapshotMessage(1n, 2n, data);
  a.transport.send(sent);
  a.transport.send(append(1n, 2n, 200)); // queued behind it on the bulk lane
  await waitFor(() => b.received.length === 2, 'the snapshot and the append after it');
  assert.deepEqual(b.received[0], sent);
  assert.equal(b.received[1]!.index, 200, 'FIFO on the bulk lane');
  await waitFor(() => a.snapshotsSent.length === 1, 'onSnapshotSent');
  assert.deepEqual(a.snapshotsSent, [{ id: 2n, failed: false }]);
  assert.equal(b.transport.stats().snapshotsReceived, 1);
  assert.equal(a.transport.stats().snapshotsSent, 1);
});

test('an empty snapshot is delivered with empty data', async () => {
  const a = await startNode(1n, {}, opened);
  const b = await startNode(2n, {}, opened);
  a.transport.addPeer(2n, HOST, b.port);
  const sent = snapshotMessage(1n, 2n, new Uint8Array(0));
  a.transport.send(sent);
  await waitFor(() => b.received.length === 1 && a.snapshotsSent.length === 1, 'the empty snapshot');
  assert.deepEqual(b.received[0], sent);
  assert.deepEqual(a.snapshotsSent, [{ id: 2n, failed: false }]);
});

test('a snapshot to a peer that is down is reported failed', async () => {
  const a = await startNode(1n, {}, opened);
  const down = await startNode(2n, {}, opened);
  const port = down.port;
  await down.transport.close();
  a.transport.addPeer(2n, HOST, port);
  a.transport.send(snapshotMessage(1n, 2n, patternBytes(1024, 3)));
  await waitFor(() => a.snapshotsSent.length === 1, 'onSnapshotSent');
  assert.deepEqual(a.snapshotsSent, [{ id: 2n, failed: true }]);
  assert.ok(a.unreachable.includes(2n));
});

test('while the peer is down the queue stays bounded and drops are counted', async () => {
  const queueMessagesMax = 16;
  const a = await startNode(1n, { queueMessagesMax }, opened);
  const down = await startNode(2n, {}, opened);
  const port = down.port;
  await down.transport.close();
  a.transport.addPeer(2n, HOST, port);
  for (let i = 0; i < 100; i++) a.transport.send(heartbeat(1n, 2n, i));
  for (let i = 0; i < 50; i++) a.transport.send(append(1n, 2n, i));
  let stats = a.transport.stats();
  assert.equal(stats.peers[0]!.priority.queuedMessages, queueMessagesMax);
  assert.equal(stats.peers[0]!.bulk.queuedMessages, queueMessagesMax);
  assert.equal(stats.messagesDropped, 100 - queueMessagesMax + (50 - queueMessagesMax));
  await waitFor(() => a.unreachable.length >= 2, 'failed connection attempts');
  // Bring the peer back: the priority lane kept the newest heartbeats, the bulk lane the oldest appends.
  const b = await startNode(2n, { listenPort: port }, opened);
  await waitFor(() => b.received.length === 2 * queueMessagesMax, 'the queued messages');
  const commits = b.received.filter((m) => m.type === MessageType.Heartbeat).map((m) => m.commit);
  const indexes = b.received.filter((m) => m.type === MessageType.Append).map((m) => m.index);
  assert.deepEqual(
    commits,
    Array.from({ length: queueMessagesMax }, (_, i) => 100 - queueMessagesMax + i),
  );
  assert.deepEqual(
    indexes,
    Array.from({ length: queueMessagesMax }, (_, i) => i),
  );
  stats = a.transport.stats();
  assert.equal(stats.peers[0]!.priority.queuedMessages, 0);
});

test('unknown peers and local message types', async () => {
  const a = await startNode(1n, {}, opened);
  a.transport.send(heartbeat(1n, 9n, 1));
  assert.equal(a.transport.stats().messagesUnroutable, 1);
  assert.throws(() => a.transport.send(message({ type: MessageType.Hup, from: 1n, to: 9n })));
  assert.throws(() => a.transport.addPeer(1n, HOST, 1234), 'addPeer of self');
});

test('invalid options are rejected at construction', async () => {
  await assert.rejects(startNode(1n, { queueMessagesMax: 0 }, opened), RangeError);
  await assert.rejects(startNode(1n, { reconnectMaxMs: 1, reconnectBaseMs: 10 }, opened), RangeError);
  await assert.rejects(startNode(0n, {}, opened), RangeError);
});

test('a discovery probe learns the cluster id and members; without clusterInfo it is refused', async () => {
  const members = [
    { id: 1n, peerUrls: ['http://127.0.0.1:1'] },
    { id: 0xffff_ffff_ffff_fffen, peerUrls: ['http://127.0.0.1:2'] },
  ];
  const answering = await startNode(1n, { clusterInfo: () => ({ clusterId: CLUSTER_ID, members }) }, opened);
  const info = await probeCluster(HOST, answering.port, WAIT_TIMEOUT_MS);
  assert.equal(info.clusterId, CLUSTER_ID);
  assert.deepEqual(info.members, members);
  const silent = await startNode(2n, {}, opened);
  await assert.rejects(probeCluster(HOST, silent.port, WAIT_TIMEOUT_MS));
  assert.equal(silent.received.length, 0);
});
