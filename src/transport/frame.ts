// Length-prefixed framing over a byte stream (TCP).
//
//   u32 length (big-endian) | u8 frame type | payload (length - 1 bytes)
//
// `length` counts the type byte and the payload, so it is at least 1. A frame whose length is
// above `maxFrameBytes` is refused from its 4-byte prefix, before anything is allocated: a peer
// cannot make this node reserve memory it has not agreed to.

import { FrameError } from './errors.js';

export enum FrameType {
  /** First frame from the dialling side: who I am, who I think you are (see handshake.ts). */
  Hello = 1,
  /** The listening side accepted the hello; messages may follow. Empty payload. */
  HelloAccept = 2,
  /** The listening side refused the hello; payload is a UTF-8 reason. The connection then closes. */
  HelloRefuse = 3,
  /** One raft Message without a snapshot (codec.ts). */
  Message = 4,
  /** A Snapshot message whose data (or the rest of it, when streamed) follows in SnapshotChunk frames. */
  SnapshotBegin = 5,
  /** Raw bytes of the snapshot announced by the last SnapshotBegin. */
  SnapshotChunk = 6,
  /**
   * The answer to a discovery probe (a hello with cluster, from and to all 0): msgpack
   * `[clusterId, [[memberId, [peerUrl...]]...]]`, then the connection closes. A member joining an
   * existing cluster learns the cluster id and its own member id this way (etcd asks its peers'
   * /members endpoint).
   */
  ClusterInfo = 7,
  /**
   * The end of a snapshot streamed without a length up front (SnapshotBegin with a null length):
   * msgpack count of the bytes its SnapshotChunk frames carried.
   */
  SnapshotEnd = 8,
}

const FRAME_TYPE_MAX = FrameType.SnapshotEnd;

/** Bytes before the payload: the u32 length and the u8 type. */
export const FRAME_HEADER_BYTES = 5;
/** Bytes of the length prefix alone. */
const LENGTH_PREFIX_BYTES = 4;
/** Default bound on `length`: room for a 1 MiB snapshot chunk or a large append, with margin. */
export const MAX_FRAME_BYTES_DEFAULT = 64 * 1024 * 1024;
/** The u32 prefix cannot describe more. */
const MAX_FRAME_BYTES_LIMIT = 0xffff_ffff;

export interface Frame {
  readonly type: FrameType;
  readonly payload: Uint8Array;
}

const EMPTY_PAYLOAD = new Uint8Array(0);

export function isFrameType(value: number): value is FrameType {
  return Number.isInteger(value) && value >= FrameType.Hello && value <= FRAME_TYPE_MAX;
}

/** Writes the 5-byte header for a payload of `payloadBytes` at `target[offset]`. */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  type: FrameType,
  payloadBytes: number,
): void {
  const length = payloadBytes + 1;
  if (length > MAX_FRAME_BYTES_LIMIT)
    throw new RangeError(`frame payload of ${payloadBytes} bytes is too large`);
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
  target[offset + 4] = type;
}

/** A whole frame in one new buffer. For small, rare frames (handshake); hot paths write headers in place. */
export function encodeFrame(type: FrameType, payload: Uint8Array = EMPTY_PAYLOAD): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(frame, 0, type, payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) >>> 0) +
    (bytes[offset + 1]! << 16) +
    (bytes[offset + 2]! << 8) +
    bytes[offset + 3]!
  );
}

/**
 * Turns a stream of byte chunks, split or coalesced anyhow, back into frames.
 *
 * `push(chunk)` then `next()` until it returns null. A payload that lies inside one chunk is
 * returned as a view of that chunk (no copy); one that spans chunks is copied once into a buffer
 * of exactly its size. After a FrameError the decoder refuses all further input: the stream has
 * lost its frame boundaries and the connection must be closed.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  private readonly chunks: Uint8Array[] = [];
  /** Read position inside `chunks[0]`. */
  private chunkOffset = 0;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private bodyType: FrameType = FrameType.Hello;
  /** -1 while the header is incomplete. */
  private bodyBytes = -1;
  private body: Uint8Array | null = null;
  private bodyFilled = 0;
  private failed: FrameError | null = null;
  private bufferedBytesCount = 0;

  constructor(maxFrameBytes: number = MAX_FRAME_BYTES_DEFAULT) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
      throw new RangeError(
        `maxFrameBytes must be an integer in [1, ${MAX_FRAME_BYTES_LIMIT}], got ${maxFrameBytes}`,
      );
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned in a frame: a partial header, a partial body, unread chunks. */
  get bufferedBytes(): number {
    const partial = this.bodyBytes < 0 ? this.headerFilled : this.body === null ? 0 : this.bodyFilled;
    return this.bufferedBytesCount + partial;
  }

  push(chunk: Uint8Array): void {
    if (this.failed !== null) throw this.failed;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytesCount += chunk.length;
  }

  /** The next whole frame, or null when more bytes are needed. Throws FrameError on a bad header. */
  next(): Frame | null {
    if (this.failed !== null) throw this.failed;
    if (this.bodyBytes < 0 && !this.readHeader()) return null;
    if (this.bodyBytes === 0) return this.finish(EMPTY_PAYLOAD);
    if (this.body === null) {
      // Fast path: the whole payload is inside the first chunk.
      const first = this.chunks[0];
      if (first !== undefined && first.length - this.chunkOffset >= this.bodyBytes) {
        const payload = first.subarray(this.chunkOffset, this.chunkOffset + this.bodyBytes);
        this.consume(this.bodyBytes);
        return this.finish(payload);
      }
      // The length was checked against maxFrameBytes in readHeader, before this allocation.
      this.body = new Uint8Array(this.bodyBytes);
      this.bodyFilled = 0;
    }
    while (this.bodyFilled < this.bodyBytes) {
      const first = this.chunks[0];
      if (first === undefined) return null;
      const take = Math.min(first.length - this.chunkOffset, this.bodyBytes - this.bodyFilled);
      this.body.set(first.subarray(this.chunkOffset, this.chunkOffset + take), this.bodyFilled);
      this.bodyFilled += take;
      this.consume(take);
    }
    const payload = this.body;
    this.body = null;
    return this.finish(payload);
  }

  private readHeader(): boolean {
    while (this.headerFilled < FRAME_HEADER_BYTES) {
      const first = this.chunks[0];
      if (first === undefined) return false;
      this.header[this.headerFilled++] = first[this.chunkOffset]!;
      this.consume(1);
    }
    const length = readUint32(this.header, 0);
    const type = this.header[LENGTH_PREFIX_BYTES]!;
    if (length < 1) this.fail('frame length 0 (no room for the type byte)');
    if (length > this.maxFrameBytes)
      this.fail(`frame length ${length} exceeds maxFrameBytes ${this.maxFrameBytes}`);
    if (!isFrameType(type)) this.fail(`unknown frame type ${type}`);
    this.bodyType = type;
    this.bodyBytes = length - 1;
    return true;
  }

  private finish(payload: Uint8Array): Frame {
    const frame: Frame = { type: this.bodyType, payload };
    this.headerFilled = 0;
    this.bodyBytes = -1;
    return frame;
  }

  private consume(bytes: number): void {
    this.chunkOffset += bytes;
    this.bufferedBytesCount -= bytes;
    if (this.chunkOffset === this.chunks[0]!.length) {
      this.chunks.shift();
      this.chunkOffset = 0;
    }
  }

  private fail(reason: string): never {
    this.failed = new FrameError(reason);
    throw this.failed;
  }
}
