// What a Raft snapshot of a member holds: the member table, active alarms, the auth state and the
// MVCC store's snapshot chunks (msgpack: binary stays binary, ids stay exact 64-bit integers) — or,
// for a large state that never sits in memory whole, where that state is.

import { Packr } from 'msgpackr';
import type { AuthSnapshot } from '../auth/store.js';

const snapshotPackr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });

export interface SnapshotData {
  readonly members: unknown;
  /** Active alarms as [member id, alarm type] pairs (absent in older snapshots). */
  readonly alarms?: [bigint, number][];
  /** The MVCC store's snapshot chunks, or null (bootstrap: empty store; or see mvccInDatabase). */
  readonly mvcc: Uint8Array[] | null;
  /**
   * A member's own log-compaction snapshot: the MVCC state is not copied into it but lives in the
   * member's database, synced to disk at an applied index at or past the snapshot's. Such a
   * snapshot is filled with the current state before it is sent to a follower.
   */
  readonly mvccInDatabase?: boolean;
  /** Users, roles and the enabled flag (absent in snapshots from before auth existed). */
  readonly auth?: AuthSnapshot;
  /** Live simple tokens as [token, user, expiry (wall-clock ms)]: valid on a member restored from this. */
  readonly authTokens?: [string, string, number][];
  /**
   * On the wire from the leader: the MVCC state streams after this data (the transport's
   * SnapshotSource, read from one database read transaction as the connection has room).
   */
  readonly mvccStreamed?: boolean;
  /**
   * Received streamed: the state attachment file (storage/snapshot-attachment.ts) in the snapshot
   * directory that holds the MVCC state, restored from it when the snapshot is installed.
   */
  readonly mvccFile?: string;
}

/** The MVCC state is not in the snapshot's data but in the database or in an attachment file. */
export function mvccOutOfLine(data: SnapshotData): boolean {
  return data.mvcc === null && (data.mvccInDatabase === true || data.mvccFile !== undefined);
}

export function encodeSnapshotData(data: SnapshotData): Uint8Array {
  // A copy, not msgpackr's view into its shared output buffer: snapshots are kept (see
  // encodeProposal in replicated.ts).
  return Uint8Array.prototype.slice.call(snapshotPackr.pack(data));
}

export function decodeSnapshotData(bytes: Uint8Array): SnapshotData {
  if (bytes.byteLength === 0) return { members: [], mvcc: null };
  return snapshotPackr.unpack(bytes) as SnapshotData;
}
