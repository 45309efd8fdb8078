// What a Raft snapshot of a member holds: the member table, active alarms and the MVCC store's
// snapshot chunks (msgpack: binary stays binary, ids stay exact 64-bit integers).

import { Packr } from 'msgpackr';

const snapshotPackr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });

export interface SnapshotData {
  readonly members: unknown;
  /** Active alarms as [member id, alarm type] pairs (absent in older snapshots). */
  readonly alarms?: [bigint, number][];
  /** The MVCC store's snapshot chunks, or null for the bootstrap snapshot (empty store). */
  readonly mvcc: Uint8Array[] | null;
}

export function encodeSnapshotData(data: SnapshotData): Uint8Array {
  return snapshotPackr.pack(data);
}

export function decodeSnapshotData(bytes: Uint8Array): SnapshotData {
  if (bytes.byteLength === 0) return { members: [], mvcc: null };
  return snapshotPackr.unpack(bytes) as SnapshotData;
}
