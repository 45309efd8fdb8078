import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconnectDelayMs } from '../../src/transport/backoff.js';
import { FrameError } from '../../src/transport/errors.js';
import { encodeFrame, type Frame, FrameDecoder, FrameType } from '../../src/transport/frame.js';
import { BoundedQueue } from '../../src/transport/queue.js';
import { bytes, patternBytes } from './helpers.js';

function drain(decoder: FrameDecoder): Frame[] {
  const frames: Frame[] = [];
  for (let f = decoder.next(); f !== null; f = decoder.next())
    frames.push({ type: f.type, payload: f.payload });
  return frames;
}

const FRAMES: Frame[] = [
  { type: FrameType.Message, payload: patternBytes(300, 1) },
  { type: FrameType.HelloAccept, payload: new Uint8Array(0) },
  { type: FrameType.SnapshotChunk, payload: patternBytes(70_000, 2) },
  { type: FrameType.Message, payload: bytes(1) },
];

function wire(): Uint8Array {
  // A plain Uint8Array (not a Buffer), so payload views compare equal to the originals.
  return new Uint8Array(Buffer.concat(FRAMES.map((f) => encodeFrame(f.type, f.payload))));
}

test('frame decoder: 1-byte chunks give the same frames', () => {
  const all = wire();
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  for (let i = 0; i < all.length; i++) {
    decoder.push(all.subarray(i, i + 1));
    frames.push(...drain(decoder));
  }
  assert.deepEqual(frames, FRAMES);
  assert.equal(decoder.bufferedBytes, 0);
});

test('frame decoder: coalesced frames in one chunk, and every split point of two chunks', () => {
  const all = wire();
  const decoder = new FrameDecoder();
  decoder.push(all);
  assert.deepEqual(drain(decoder), FRAMES);
  for (let split = 0; split <= all.length; split += 97) {
    const d = new FrameDecoder();
    d.push(all.subarray(0, split));
    const frames = drain(d);
    d.push(all.subarray(split));
    frames.push(...drain(d));
    assert.deepEqual(frames, FRAMES, `split at ${split}`);
  }
});

test('frame decoder: a truncated frame yields nothing until the rest arrives', () => {
  const frame = encodeFrame(FrameType.Message, patternBytes(50, 3));
  const decoder = new FrameDecoder();
  decoder.push(frame.subarray(0, 3));
  assert.equal(decoder.next(), null);
  decoder.push(frame.subarray(3, 30));
  assert.equal(decoder.next(), null);
  assert.equal(decoder.bufferedBytes, 25, 'the 5-byte header is consumed, 25 body bytes held');
  decoder.push(frame.subarray(30));
  assert.deepEqual(decoder.next()?.payload, patternBytes(50, 3));
});

test('frame decoder: an oversized length is refused from the prefix, before allocation', () => {
  const decoder = new FrameDecoder(1024);
  // Claims 4 GiB - 1: must fail at once, without waiting for (or allocating) the body.
  decoder.push(bytes(0xff, 0xff, 0xff, 0xff, FrameType.Message));
  assert.throws(() => decoder.next(), FrameError);
  assert.throws(() => decoder.push(bytes(1)), FrameError, 'a failed decoder stays failed');
  const atLimit = new FrameDecoder(1024);
  atLimit.push(encodeFrame(FrameType.Message, new Uint8Array(1023)));
  assert.equal(atLimit.next()?.payload.length, 1023);
  const overLimit = new FrameDecoder(1024);
  overLimit.push(encodeFrame(FrameType.Message, new Uint8Array(1024)));
  assert.throws(() => overLimit.next(), /exceeds maxFrameBytes/);
});

test('frame decoder: zero length and unknown frame types are FrameErrors', () => {
  const zero = new FrameDecoder();
  zero.push(bytes(0, 0, 0, 0, 1));
  assert.throws(() => zero.next(), FrameError);
  for (const type of [0, 9, 255]) {
    const d = new FrameDecoder();
    d.push(bytes(0, 0, 0, 1, type));
    assert.throws(() => d.next(), FrameError, `type ${type}`);
  }
});

test('backoff: grows exponentially, capped, jittered within [ceiling/2, ceiling)', () => {
  assert.equal(
    reconnectDelayMs(0, 100, 5000, () => 0),
    50,
  );
  assert.equal(
    reconnectDelayMs(3, 100, 5000, () => 0),
    400,
  );
  assert.equal(
    reconnectDelayMs(3, 100, 5000, () => 0.999),
    799,
  );
  assert.equal(
    reconnectDelayMs(20, 100, 5000, () => 0.999),
    4997,
  );
  assert.equal(
    reconnectDelayMs(1000, 100, 5000, () => 0),
    2500,
  );
  for (let attempt = 0; attempt < 50; attempt++) {
    const d = reconnectDelayMs(attempt, 100, 5000, Math.random);
    assert.ok(d >= 0 && d <= 5000);
  }
});

test('bounded queue: FIFO across wrap-around, removeWhere keeps order', () => {
  const q = new BoundedQueue<number>(3);
  q.push(1);
  q.push(2);
  q.push(3);
  assert.ok(q.full);
  assert.throws(() => q.push(4));
  assert.equal(q.shift(), 1);
  q.push(4);
  assert.deepEqual(
    q.removeWhere((n) => n === 3),
    [3],
  );
  assert.equal(q.length, 2);
  assert.equal(q.shift(), 2);
  assert.equal(q.shift(), 4);
  assert.equal(q.shift(), undefined);
});
