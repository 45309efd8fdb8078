// Streamed snapshots (snapshot-stream.ts): the sender reads its source only as the connection has
// room, the receiver's sink gets the bytes as they arrive, and a stream cut off anywhere is
// aborted on both sides without reaching raft.

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { type Message, MessageType } from '../../src/raft/types.js';
import {
  iteratorSnapshotSource,
  memorySnapshotSink,
  type SnapshotSink,
  type SnapshotSource,
} from '../../src/transport/snapshot-stream.js';
import type { PeerTransport } from '../../src/transport/transport.js';
import { append, HOST, heartbeat, patternBytes, snapshotMessage, startNode, waitFor } from './helpers.js';

let opened: PeerTransport[] = [];

afterEach(async () => {
  await Promise.all(opened.map((t) => t.close()));
  opened = [];
});

const PIECE_BYTES = 256 * 1024;

/** A source of `count` pattern pieces that records how it was used. */
function countingSource(count: number) {
  const pieces = Array.from({ length: count }, (_, i) => patternBytes(PIECE_BYTES, i + 1));
  const inner = iteratorSnapshotSource(pieces.values());
  const usage = { pieces, produced: 0, closed: 0 };
  const source: SnapshotSource = {
    next: () => {
      const piece = inner.next();
      if (piece !== null) usage.produced++;
      return piece;
    },
    close: () => {
      usage.closed++;
      inner.close();
    },
  };
  return { source, usage };
}

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

test('a streamed snapshot arrives as its inline data followed by every streamed byte', async () => {
  const a = await startNode(1n, {}, opened);
  const b = await startNode(2n, {}, opened);
  a.transport.addPeer(2n, HOST, b.port);
  const inline = patternBytes(100, 9);
  const { source, usage } = countingSource(12);
  a.transport.sendSnapshot(snapshotMessage(1n, 2n, inline), source);
  a.transport.send(append(1n, 2n, 5));
  await waitFor(() => b.received.length === 2, 'the snapshot and the append after it');
  const snapshot = b.received[0]!;
  assert.equal(snapshot.type, MessageType.Snapshot);
  assert.equal(Buffer.compare(snapshot.snapshot!.data, concat([inline, ...usage.pieces])), 0);
  assert.equal(b.received[1]!.index, 5, 'the lane carries on after the stream');
  await waitFor(() => a.snapshotsSent.length === 1, 'onSnapshotSent');
  assert.deepEqual(a.snapshotsSent, [{ id: 2n, failed: false }]);
  assert.equal(usage.closed, 1, 'the source is closed once');
});

test('the receiver sink gets the chunks as they arrive and its message is delivered', async () => {
  const written: Uint8Array[] = [];
  const finished: Message[] = [];
  const sink = (m: Message): SnapshotSink => ({
    write: (chunk) => written.push(chunk.slice()),
    finish: () => {
      const delivered = { ...m, commit: 77 };
      finished.push(delivered);
      return delivered;
    },
    abort: () => assert.fail('not aborted'),
  });
  const a = await startNode(1n, {}, opened);
  const b = await startNode(2n, { receiveSnapshot: sink }, opened);
  a.transport.addPeer(2n, HOST, b.port);
  const { source, usage } = countingSource(8);
  a.transport.sendSnapshot(snapshotMessage(1n, 2n, patternBytes(10, 1)), source);
  await waitFor(() => b.received.length === 1, 'the snapshot');
  assert.equal(b.received[0]!.commit, 77, 'the message the sink finished is the one delivered');
  assert.equal(finished.length, 1);
  assert.equal(Buffer.compare(concat(written), concat(usage.pieces)), 0);
});

test('a streamed snapshot over snapshotBytesMax is refused: sink aborted, nothing delivered', async () => {
  let aborted = 0;
  const a = await startNode(1n, {}, opened);
  const b = await startNode(
    2n,
    {
      snapshotBytesMax: 3 * PIECE_BYTES,
      receiveSnapshot: (m) => {
        const inner = memorySnapshotSink(m);
        return { ...inner, abort: () => aborted++ };
      },
    },
    opened,
  );
  a.transport.addPeer(2n, HOST, b.port);
  const { source, usage } = countingSource(6);
  a.transport.sendSnapshot(snapshotMessage(1n, 2n, new Uint8Array(0)), source);
  await waitFor(() => b.transport.stats().frameErrors === 1, 'the oversized stream refused');
  await waitFor(() => aborted === 1, 'the sink aborted');
  // Whether the sender had handed every byte to its kernel first is a race; either way it stops.
  await waitFor(() => a.snapshotsSent.length === 1, 'the sender done with the snapshot');
  assert.equal(usage.closed, 1);
  assert.equal(
    b.received.some((m) => m.type === MessageType.Snapshot),
    false,
  );
});

test('a stream cut off by the receiver going away is reported failed and its source closed', async () => {
  const a = await startNode(1n, {}, opened);
  const b = await startNode(
    2n,
    {
      receiveSnapshot: (m) => {
        const inner = memorySnapshotSink(m);
        // The receiver dies after the first chunk.
        return { ...inner, write: () => void b.transport.close() };
      },
    },
    opened,
  );
  a.transport.addPeer(2n, HOST, b.port);
  const { source, usage } = countingSource(64);
  a.transport.sendSnapshot(snapshotMessage(1n, 2n, new Uint8Array(0)), source);
  await waitFor(() => a.snapshotsSent.length === 1, 'the failure report');
  assert.deepEqual(a.snapshotsSent, [{ id: 2n, failed: true }]);
  assert.equal(usage.closed, 1);
  assert.ok(usage.produced < 64, 'the sender stopped reading the source');
});

test('the sender reads its source one socket buffer per event-loop turn, so heartbeats keep going', async () => {
  const writeBufferBytesMax = 1024 * 1024;
  const a = await startNode(1n, { writeBufferBytesMax }, opened);
  const b = await startNode(2n, {}, opened);
  a.transport.addPeer(2n, HOST, b.port);
  a.transport.send(heartbeat(1n, 2n, 1));
  a.transport.send(append(1n, 2n, 1));
  await waitFor(() => b.received.length === 2, 'both lanes connected');
  // Count the pieces read between two turns of the event loop (setImmediate runs once a turn).
  let piecesThisTurn = 0;
  let piecesPerTurnMax = 0;
  let turning = true;
  const turn = () => {
    piecesThisTurn = 0;
    if (turning) setImmediate(turn);
  };
  setImmediate(turn);
  const { source, usage } = countingSource(400); // 100 MiB
  const counted: SnapshotSource = {
    next: () => {
      piecesThisTurn++;
      piecesPerTurnMax = Math.max(piecesPerTurnMax, piecesThisTurn);
      return source.next();
    },
    close: () => source.close(),
  };
  a.transport.sendSnapshot(snapshotMessage(1n, 2n, new Uint8Array(0)), counted);
  await waitFor(() => a.snapshotsSent.length === 1, 'the 100 MiB stream', 60_000);
  turning = false;
  assert.equal(usage.produced, 400);
  // One buffer's worth (plus the piece that crosses the bound) per turn.
  assert.ok(
    piecesPerTurnMax <= writeBufferBytesMax / PIECE_BYTES + 1,
    `${piecesPerTurnMax} pieces read in one turn`,
  );
});
