// The binary encoding of raft Messages, on top of msgpack (msgpackr).
//
// A message is a msgpack array in a fixed field order (smaller than a map, and the order is
// the schema):
//
//   [type, group, from, to, term, logTerm, index, entries, commit, reject, rejectHint, snapshot, context]
//   entry    = [term, index, type, data]
//   snapshot = null | [index, term, voters, learners, data]
//
// Ids are bigints and always travel as msgpack int64/uint64, which msgpackr decodes back to
// bigint (int64AsType 'bigint'): lossless up to 2^64-1. Terms and indexes are safe integers.
// A snapshot's data may travel inline (as above) or, on the wire between transports, as a
// SnapshotBegin frame `[message with empty snapshot data, dataBytes]` followed by raw chunks, or
// streamed (snapshot-stream.ts): `[message with its inline data, null]`, raw chunks, SnapshotEnd.

import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { assert } from '../raft/assert.js';
import { type Entry, EntryType, type Message, MessageType, type Snapshot } from '../raft/types.js';
import { FrameError } from './errors.js';
import { FRAME_HEADER_BYTES, FrameType, writeFrameHeader } from './frame.js';
import { isUint64, readArray, readBoolean, readBytes, readCount, readId, readIds } from './wire-values.js';

const MESSAGE_FIELDS = 13;
const ENTRY_FIELDS = 4;
const SNAPSHOT_FIELDS = 5;
const SNAPSHOT_BEGIN_FIELDS = 2;

/** Types that cross the network; the local ones (Hup, Beat, Propose, ...) never do. */
export function isNetworkMessageType(type: number): type is MessageType {
  return Number.isInteger(type) && type >= MessageType.Append && type <= MessageType.ForwardReject;
}

const EMPTY_BYTES = new Uint8Array(0);

/**
 * Lossless bigints: anything outside the 64-bit range throws instead of becoming a float or a
 * string; plain maps/arrays only (no record extension, so the format is stable msgpack).
 */
const PACKR_OPTIONS = {
  useRecords: false,
  moreTypes: false,
  largeBigIntToFloat: false,
  largeBigIntToString: false,
  useBigIntExtension: false,
  int64AsType: 'bigint',
  bundleStrings: false,
  copyBuffers: false,
} as const;

/** The announcement that precedes a chunked snapshot. */
export interface SnapshotBegin {
  /** The Snapshot message: `snapshot.data` empty, or (streamed) the data that precedes the stream. */
  readonly message: Message;
  /**
   * How many bytes of snapshot data follow in SnapshotChunk frames; null when streamed (the
   * chunks run until a SnapshotEnd frame).
   */
  readonly dataBytes: number | null;
}

/**
 * Encoder and decoder for messages. Holds one Packr, reused for every message: msgpackr keeps
 * appending into its own buffer, so a returned frame stays valid after later calls.
 */
export class MessageCodec {
  private readonly packr = new Packr(PACKR_OPTIONS);

  /** The msgpack payload of `m` (snapshot data inline, if any). */
  encodeMessage(m: Message): Uint8Array {
    return this.packr.pack(messageTuple(m, true));
  }

  /** A complete Message frame: the header is written into space msgpackr reserves, so no copy. */
  encodeMessageFrame(m: Message): Uint8Array {
    const frame = this.packr.pack(messageTuple(m, true), RESERVE_START_SPACE | FRAME_HEADER_BYTES);
    writeFrameHeader(frame, 0, FrameType.Message, frame.length - FRAME_HEADER_BYTES);
    return frame;
  }

  /**
   * The SnapshotBegin frame for a Snapshot message; its data is sent separately in chunks. A
   * streamed snapshot keeps its data inline and announces no length.
   */
  encodeSnapshotBeginFrame(m: Message, streamed = false): Uint8Array {
    assert(m.snapshot !== null, 'a SnapshotBegin frame needs a snapshot');
    const value = streamed ? [messageTuple(m, true), null] : [messageTuple(m, false), m.snapshot.data.length];
    const frame = this.packr.pack(value, RESERVE_START_SPACE | FRAME_HEADER_BYTES);
    writeFrameHeader(frame, 0, FrameType.SnapshotBegin, frame.length - FRAME_HEADER_BYTES);
    return frame;
  }

  decodeMessage(payload: Uint8Array): Message {
    return parseMessage(this.unpack(payload), 'message');
  }

  decodeSnapshotBegin(payload: Uint8Array): SnapshotBegin {
    const tuple = readArray(this.unpack(payload), 'snapshotBegin', SNAPSHOT_BEGIN_FIELDS);
    const message = parseMessage(tuple[0], 'snapshotBegin.message');
    if (message.type !== MessageType.Snapshot || message.snapshot === null) {
      throw new FrameError('snapshotBegin.message: not a Snapshot message with a snapshot');
    }
    if (tuple[1] === null) return { message, dataBytes: null };
    if (message.snapshot.data.length !== 0)
      throw new FrameError('snapshotBegin.message: snapshot data is inline');
    return { message, dataBytes: readCount(tuple[1], 'snapshotBegin.dataBytes') };
  }

  /** The SnapshotEnd frame closing a streamed snapshot of `streamedBytes` chunk bytes. */
  encodeSnapshotEndFrame(streamedBytes: number): Uint8Array {
    const frame = this.packr.pack(streamedBytes, RESERVE_START_SPACE | FRAME_HEADER_BYTES);
    writeFrameHeader(frame, 0, FrameType.SnapshotEnd, frame.length - FRAME_HEADER_BYTES);
    return frame;
  }

  decodeSnapshotEnd(payload: Uint8Array): number {
    return readCount(this.unpack(payload), 'snapshotEnd.streamedBytes');
  }

  /** Any plain value, for the small non-message frames (hello). */
  encodeValue(value: unknown): Uint8Array {
    return this.packr.pack(value);
  }

  /** msgpack → unknown. Every msgpackr failure (truncation, trailing bytes, bad ext) is a FrameError. */
  unpack(payload: Uint8Array): unknown {
    try {
      return this.packr.unpack(payload);
    } catch (error) {
      throw new FrameError(`undecodable msgpack: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

const defaultCodec = new MessageCodec();

/** The msgpack payload of a message, with a shared codec. */
export function encodeMessage(m: Message): Uint8Array {
  return defaultCodec.encodeMessage(m);
}

/** Parses a payload from `encodeMessage`; throws FrameError on anything else. */
export function decodeMessage(payload: Uint8Array): Message {
  return defaultCodec.decodeMessage(payload);
}

function messageTuple(m: Message, withSnapshotData: boolean): unknown[] {
  assert(isNetworkMessageType(m.type), `message type ${m.type} is local and never sent`);
  assert(isUint64(m.from) && isUint64(m.to), `message ids must be uint64: from ${m.from} to ${m.to}`);
  const entries: unknown[] = new Array(m.entries.length);
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    entries[i] = [e.term, e.index, e.type, e.data];
  }
  const s = m.snapshot;
  const snapshot =
    s === null
      ? null
      : [
          s.metadata.index,
          s.metadata.term,
          s.metadata.confState.voters,
          s.metadata.confState.learners,
          withSnapshotData ? s.data : EMPTY_BYTES,
        ];
  return [
    m.type,
    m.group,
    m.from,
    m.to,
    m.term,
    m.logTerm,
    m.index,
    entries,
    m.commit,
    m.reject,
    m.rejectHint,
    snapshot,
    m.context,
  ];
}

function parseMessage(value: unknown, field: string): Message {
  const t = readArray(value, field, MESSAGE_FIELDS);
  const type = readCount(t[0], `${field}.type`);
  if (!isNetworkMessageType(type))
    throw new FrameError(`${field}.type: ${type} is not a network message type`);
  // Same field order as raft's message() so decoded messages share its hidden class.
  return {
    type,
    group: readCount(t[1], `${field}.group`),
    from: readId(t[2], `${field}.from`),
    to: readId(t[3], `${field}.to`),
    term: readCount(t[4], `${field}.term`),
    logTerm: readCount(t[5], `${field}.logTerm`),
    index: readCount(t[6], `${field}.index`),
    entries: parseEntries(t[7], `${field}.entries`),
    commit: readCount(t[8], `${field}.commit`),
    reject: readBoolean(t[9], `${field}.reject`),
    rejectHint: readCount(t[10], `${field}.rejectHint`),
    snapshot: t[11] === null ? null : parseSnapshot(t[11], `${field}.snapshot`),
    context: readBytes(t[12], `${field}.context`),
  };
}

function parseEntries(value: unknown, field: string): Entry[] {
  const array = readArray(value, field);
  const entries: Entry[] = new Array(array.length);
  for (let i = 0; i < array.length; i++) {
    const name = `${field}[${i}]`;
    const e = readArray(array[i], name, ENTRY_FIELDS);
    const type = readCount(e[2], `${name}.type`);
    if (type !== EntryType.Normal && type !== EntryType.ConfChange) {
      throw new FrameError(`${name}.type: unknown entry type ${type}`);
    }
    entries[i] = {
      term: readCount(e[0], `${name}.term`),
      index: readCount(e[1], `${name}.index`),
      type,
      data: readBytes(e[3], `${name}.data`),
    };
  }
  return entries;
}

function parseSnapshot(value: unknown, field: string): Snapshot {
  const s = readArray(value, field, SNAPSHOT_FIELDS);
  return {
    metadata: {
      index: readCount(s[0], `${field}.index`),
      term: readCount(s[1], `${field}.term`),
      confState: { voters: readIds(s[2], `${field}.voters`), learners: readIds(s[3], `${field}.learners`) },
    },
    data: readBytes(s[4], `${field}.data`),
  };
}

/** Replaces the data of a Snapshot message's snapshot (receiver side, after reassembly). */
export function withSnapshotData(m: Message, data: Uint8Array): Message {
  assert(m.snapshot !== null, 'withSnapshotData needs a snapshot message');
  return { ...m, snapshot: { metadata: m.snapshot.metadata, data } };
}
