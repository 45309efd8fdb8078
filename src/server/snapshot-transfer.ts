// A member's snapshot on its way to a follower and back into a store, without the whole MVCC
// state in memory on either side: the leader streams it from one LMDB read transaction as the
// connection has room (each piece read on demand, so the event loop and heartbeats keep going),
// and the follower writes it to a state attachment file as it arrives, restoring the store from
// that file when raft installs the snapshot.

import type { MvccStore } from '../mvcc/store.js';
import type { Message } from '../raft/types.js';
import type { StateAttachments } from '../storage/snapshot-attachment.js';
import { FrameError } from '../transport/errors.js';
import {
  iteratorSnapshotSource,
  memorySnapshotSink,
  type SnapshotSink,
  type SnapshotSource,
} from '../transport/snapshot-stream.js';
import { decodeSnapshotData, encodeSnapshotData, type SnapshotData } from './snapshot-data.js';

/** The store's snapshot stream; its read transaction opens at the first piece and ends on close. */
export function mvccSnapshotSource(mvcc: MvccStore): SnapshotSource {
  return iteratorSnapshotSource(mvcc.snapshot()[Symbol.iterator]());
}

/** What a snapshot carries inline besides the MVCC state: members, alarms, auth. */
export type InlineSnapshotData = Omit<SnapshotData, 'mvcc' | 'mvccInDatabase' | 'mvccStreamed' | 'mvccFile'>;

/** The data a streamed snapshot carries inline: everything but the MVCC state, which follows it. */
export function streamedSnapshotData(inline: InlineSnapshotData): Uint8Array {
  return encodeSnapshotData({ ...inline, mvcc: null, mvccStreamed: true });
}

/**
 * Where a snapshot streamed by a peer goes: the MVCC state into a new attachment file, durable
 * before raft sees the snapshot, whose data then names the file. Inline data that does not parse
 * is the peer's fault and closes its connection (FrameError).
 */
export function attachmentSink(m: Message, attachments: StateAttachments): SnapshotSink {
  const snapshot = m.snapshot;
  if (snapshot === null) throw new FrameError('a streamed snapshot message without a snapshot');
  let data: SnapshotData;
  try {
    data = decodeSnapshotData(snapshot.data);
  } catch (error) {
    throw new FrameError(`streamed snapshot data: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (data.mvccStreamed !== true) return memorySnapshotSink(m);
  const writer = attachments.begin(snapshot.metadata.index, snapshot.metadata.term);
  return {
    write: (chunk) => writer.write(chunk),
    finish: () => {
      const mvccFile = writer.finish();
      const { mvccStreamed: _streamed, ...inline } = data;
      const received = encodeSnapshotData({ ...inline, mvcc: null, mvccFile });
      return { ...m, snapshot: { metadata: snapshot.metadata, data: received } };
    },
    abort: () => writer.abort(),
  };
}

/**
 * Restores `mvcc` from a snapshot's data when that data carries the state (inline chunks or an
 * attachment file); a snapshot whose state is already in the database leaves it alone.
 */
export function restoreFromSnapshotData(
  mvcc: MvccStore,
  attachments: StateAttachments,
  data: SnapshotData,
): void {
  if (data.mvcc !== null) mvcc.restore(data.mvcc);
  else if (data.mvccFile !== undefined) mvcc.restore(attachments.read(data.mvccFile));
}
