import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { EntryType, type Message, MessageType, message } from '../../src/raft/types.js';
import { decodeMessage, encodeMessage, MessageCodec } from '../../src/transport/codec.js';
import { FrameError } from '../../src/transport/errors.js';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameType } from '../../src/transport/frame.js';
import {
  decodeHello,
  encodeHelloFrame,
  PROTOCOL_VERSION,
  refusalReason,
} from '../../src/transport/handshake.js';
import { append, bytes, snapshotMessage } from './helpers.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** A raw msgpack encoder for building hostile payloads. */
const raw = new Packr({ useRecords: false });

/** The wire tuple of a valid heartbeat; tests replace one field at a time. */
function validTuple(): unknown[] {
  return [MessageType.Heartbeat, 0, 1n, 2n, 5, 0, 0, [], 7, false, 0, null, new Uint8Array(0)];
}

function roundTrip(m: Message): Message {
  return decodeMessage(encodeMessage(m));
}

test('codec round-trips every field, entries included', () => {
  const m = message({
    type: MessageType.Append,
    group: 7,
    from: 3n,
    to: 9n,
    term: 12,
    logTerm: 11,
    index: 2 ** 40,
    entries: [
      { term: 11, index: 2 ** 40 + 1, type: EntryType.Normal, data: bytes(1, 2, 3) },
      { term: 12, index: 2 ** 40 + 2, type: EntryType.ConfChange, data: new Uint8Array(0) },
    ],
    commit: Number.MAX_SAFE_INTEGER,
    reject: true,
    rejectHint: 4,
    context: bytes(0xff, 0),
  });
  assert.deepEqual(roundTrip(m), m);
});

test('codec round-trips ids near 2^64-1 and 2^63 losslessly', () => {
  for (const id of [U64_MAX, U64_MAX - 1n, 2n ** 63n, 2n ** 63n - 1n, 2n ** 53n + 1n, 1n, 0n]) {
    const m = message({ type: MessageType.Vote, from: id, to: U64_MAX - id });
    const back = roundTrip(m);
    assert.equal(back.from, id);
    assert.equal(back.to, U64_MAX - id);
    assert.equal(typeof back.from, 'bigint');
  }
});

test('codec round-trips a snapshot inline, with max-id voters and an empty context', () => {
  const m = snapshotMessage(U64_MAX, 1n, bytes(9, 8, 7));
  const withLearners: Message = {
    ...m,
    snapshot: {
      metadata: { index: 100, term: 3, confState: { voters: [U64_MAX, 1n], learners: [U64_MAX - 5n] } },
      data: bytes(9, 8, 7),
    },
  };
  const back = roundTrip(withLearners);
  assert.deepEqual(back, withLearners);
  assert.equal(back.context.length, 0);
  assert.ok(back.context instanceof Uint8Array);
});

test('codec: a default message decodes to exactly what message() builds', () => {
  const m = message({ type: MessageType.HeartbeatResponse, from: 2n, to: 1n });
  assert.deepEqual(roundTrip(m), m);
  assert.deepEqual(Object.keys(roundTrip(m)), Object.keys(m), 'same field order (hidden class)');
});

test('codec: a Message frame and a SnapshotBegin frame decode through FrameDecoder', () => {
  const codec = new MessageCodec();
  const a = append(1n, 2n, 10, 3);
  const s = snapshotMessage(1n, 2n, bytes(1, 2, 3, 4));
  const decoder = new FrameDecoder();
  decoder.push(codec.encodeMessageFrame(a));
  decoder.push(codec.encodeSnapshotBeginFrame(s));
  const f1 = decoder.next();
  const f2 = decoder.next();
  assert.equal(decoder.next(), null);
  assert.equal(f1?.type, FrameType.Message);
  assert.deepEqual(codec.decodeMessage(f1!.payload), a);
  assert.equal(f2?.type, FrameType.SnapshotBegin);
  const begin = codec.decodeSnapshotBegin(f2!.payload);
  assert.equal(begin.dataBytes, 4);
  assert.equal(begin.message.snapshot?.data.length, 0);
  assert.deepEqual(begin.message.snapshot?.metadata, s.snapshot?.metadata);
});

test('codec: earlier encoded frames stay intact after later encodes (Packr buffer reuse)', () => {
  const codec = new MessageCodec();
  const frames = [];
  const messages = [];
  for (let i = 0; i < 2000; i++) {
    const m = append(1n, 2n, i, 2);
    messages.push(m);
    frames.push(codec.encodeMessageFrame(m));
  }
  for (let i = 0; i < frames.length; i++) {
    assert.deepEqual(codec.decodeMessage(frames[i]!.subarray(FRAME_HEADER_BYTES)), messages[i]);
  }
});

test('codec: wrong types in any field give FrameError, never a partial message', () => {
  const cases: [number, unknown][] = [
    [0, 3], // local message type (Beat... Propose)
    [0, 99],
    [0, 'x'],
    [1, -1],
    [2, 5], // id as a plain number
    [2, -1n],
    [3, 'two'],
    [4, 1.5],
    [4, 2 ** 53],
    [7, {}],
    [7, [[1, 2, 0]]], // entry with 3 fields
    [7, [[1, 2, 5, new Uint8Array(0)]]], // unknown entry type
    [7, [[1, 2, 0, 'data']]],
    [9, 0],
    [11, [1, 2, [], [], new Uint8Array(0)]], // voters fine but...
    [11, [1, 2, [3], [], new Uint8Array(0)]], // voter as number
    [11, 'snap'],
    [12, null],
    [12, 'ctx'],
  ];
  for (const [field, value] of cases) {
    const tuple = validTuple();
    tuple[field] = value;
    const payload = raw.pack(tuple);
    if (field === 11 && Array.isArray(value) && (value[2] as unknown[]).length === 0) {
      // The control case: a well-typed snapshot decodes.
      assert.equal(decodeMessage(payload).snapshot?.metadata.index, 1);
      continue;
    }
    assert.throws(() => decodeMessage(payload), FrameError, `field ${field} = ${String(value)}`);
  }
});

test('codec: garbage, truncation, trailing bytes and non-arrays give FrameError', () => {
  const good = encodeMessage(append(1n, 2n, 5, 2));
  const payloads: Uint8Array[] = [
    new Uint8Array(0),
    bytes(0xc1),
    bytes(0xff, 0xff, 0xff),
    good.subarray(0, good.length - 1),
    Uint8Array.from([...good, 0x00]),
    raw.pack({ type: 17 }),
    raw.pack([1, 2, 3]),
    raw.pack(validTuple().slice(0, 12)),
    bytes(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01), // array32 claiming 4 billion elements
    bytes(0xc7, 0x01, 0x05, 0x01), // unknown extension
  ];
  for (const payload of payloads) assert.throws(() => decodeMessage(payload), FrameError);
  // Random garbage: every outcome is a message or a FrameError, never another exception.
  let seed = 12345;
  for (let i = 0; i < 2000; i++) {
    const length = 1 + (i % 40);
    const junk = new Uint8Array(length);
    for (let j = 0; j < length; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      junk[j] = seed >>> 24;
    }
    if (i % 3 === 0) junk[0] = 0x9d; // fixarray of 13: the decoder gets further in
    try {
      decodeMessage(junk);
    } catch (error) {
      assert.ok(error instanceof FrameError, `unexpected ${String(error)}`);
    }
  }
});

test('codec refuses to encode local message types or out-of-range ids', () => {
  assert.throws(() => encodeMessage(message({ type: MessageType.Propose })));
  assert.throws(() => encodeMessage(message({ type: MessageType.Heartbeat, from: 2n ** 64n })));
});

test('hello round-trips and is checked against cluster and member id', () => {
  const codec = new MessageCodec();
  const hello = { protocolVersion: PROTOCOL_VERSION, clusterId: U64_MAX, fromId: 5n, toId: U64_MAX - 1n };
  const frame = encodeHelloFrame(codec, hello);
  const decoder = new FrameDecoder();
  decoder.push(frame);
  const decoded = decodeHello(codec, decoder.next()!.payload);
  assert.deepEqual(decoded, hello);
  assert.equal(refusalReason(decoded, U64_MAX - 1n, U64_MAX), null);
  assert.match(refusalReason(decoded, U64_MAX - 1n, 1n) ?? '', /cluster id/);
  assert.match(refusalReason(decoded, 7n, U64_MAX) ?? '', /addressed to member/);
  assert.match(
    refusalReason({ ...decoded, protocolVersion: 1 }, U64_MAX - 1n, U64_MAX) ?? '',
    /protocol version 1, this node speaks 2/,
  );
  assert.throws(() => decodeHello(codec, raw.pack([1, 1n, 2n])), FrameError);
  assert.throws(() => decodeHello(codec, raw.pack([1, 1n, 2n, 'x'])), FrameError);
});
