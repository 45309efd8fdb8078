// Snapshots too large to hold in memory travel as a stream: the sender's bytes come from a
// source read while the socket drains (e.g. a database read transaction), and the receiver's go
// to a sink as they arrive (e.g. a file), so neither side holds the whole snapshot.
//
// On the wire: a SnapshotBegin frame with the message and its (small) inline data and no length,
// SnapshotChunk frames, then a SnapshotEnd frame with the count of streamed bytes.

import { assert } from '../raft/assert.js';
import type { Message } from '../raft/types.js';

/** The sending side: produces the streamed bytes a piece at a time, as the socket has room. */
export interface SnapshotSource {
  /** The next piece (non-empty), or null once every byte has been produced. */
  next(): Uint8Array | null;
  /** Releases what the source holds. Called exactly once, read to the end or not. */
  close(): void;
}

/** The receiving side: takes the streamed bytes as they arrive. */
export interface SnapshotSink {
  /** `chunk` is only valid during the call (it may be a view of the connection's buffer). */
  write(chunk: Uint8Array): void;
  /** Every byte arrived: the message to deliver. */
  finish(): Message;
  /** The stream broke off (connection lost, bad frame); nothing will be delivered. */
  abort(): void;
}

/** Makes the sink for a streamed snapshot announced by `m` (its inline data included). */
export type SnapshotSinkFactory = (m: Message) => SnapshotSink;

/**
 * The sink used when the receiver has no better place: the snapshot's data becomes its inline
 * data followed by every streamed byte, in memory (bounded by snapshotBytesMax upstream).
 */
export function memorySnapshotSink(m: Message): SnapshotSink {
  assert(m.snapshot !== null, 'a snapshot sink needs a snapshot message');
  const snapshot = m.snapshot;
  const parts: Uint8Array[] = [snapshot.data];
  let totalBytes = snapshot.data.length;
  return {
    write(chunk) {
      parts.push(chunk.slice());
      totalBytes += chunk.length;
    },
    finish() {
      const data = new Uint8Array(totalBytes);
      let offset = 0;
      for (const part of parts) {
        data.set(part, offset);
        offset += part.length;
      }
      return { ...m, snapshot: { metadata: snapshot.metadata, data } };
    },
    abort() {
      parts.length = 0;
    },
  };
}

/** A source over an iterator of pieces; close() ends the iterator (its `finally` blocks run). */
export function iteratorSnapshotSource(iterator: Iterator<Uint8Array>): SnapshotSource {
  let done = false;
  return {
    next: () => {
      while (!done) {
        const result = iterator.next();
        if (result.done === true) {
          done = true;
          break;
        }
        if (result.value.length > 0) return result.value;
      }
      return null;
    },
    close: () => {
      done = true;
      iterator.return?.();
    },
  };
}
