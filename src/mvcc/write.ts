// One write transaction of the state machine: etcd's storeTxnWrite. Every change it makes
// shares main revision beginRevision + 1 and takes the next sub revision, and is written to
// all tables in the surrounding LMDB transaction. It also records the events the watch hub
// needs. Requests are validated before a WriteTxn is used: nothing here may fail half-way
// except a broken invariant, which aborts the whole LMDB transaction.

import { decodeRecord, encodeRecord, recordLease, tombstoneKeyValue } from './codec.js';
import {
  historyKey,
  historyPrefix,
  isEmptyKeyRange,
  type KeyRange,
  leaseIndexKey,
  revisionKey,
} from './keys.js';
import type { Tables } from './tables.js';
import { EventType, type KeyValue, type MvccEvent } from './types.js';

const HISTORY_PUT = Buffer.from([0]);
const HISTORY_TOMBSTONE = Buffer.from([1]);
const LEASE_MARK = Buffer.from([1]);

export class WriteTxn {
  /** Number of changes so far; the next change's sub revision. */
  private changeCount = 0;
  readonly events: MvccEvent[] = [];

  constructor(
    private readonly tables: Tables,
    readonly beginRevision: number,
  ) {}

  hasChanges(): boolean {
    return this.changeCount > 0;
  }

  /** The revision reads inside this txn see: its own writes once there are any (etcd 3.4). */
  readRevision(): number {
    return this.changeCount > 0 ? this.beginRevision + 1 : this.beginRevision;
  }

  /** Writes key = value with the lease; returns the revision of the write. */
  put(key: Uint8Array, value: Uint8Array, lease: bigint): number {
    const revision = this.beginRevision + 1;
    const sub = this.changeCount++;
    const previousRecord = this.tables.latest.get(key as Buffer);
    const prevKv = previousRecord === undefined ? undefined : decodeRecord(previousRecord);
    const kv: KeyValue = {
      key,
      createRevision: prevKv === undefined ? revision : prevKv.createRevision,
      modRevision: revision,
      version: prevKv === undefined ? 1 : prevKv.version + 1,
      value,
      lease,
    };
    const record = encodeRecord(kv, false);
    this.tables.latest.putSync(key as Buffer, record);
    this.tables.rev.putSync(revisionKey(revision, sub), record);
    this.tables.hist.putSync(historyKey(historyPrefix(key), revision, sub), HISTORY_PUT);
    const oldLease = prevKv === undefined ? 0n : prevKv.lease;
    if (oldLease !== lease) {
      if (oldLease !== 0n) this.tables.lease.removeSync(leaseIndexKey(oldLease, key));
      if (lease !== 0n) this.tables.lease.putSync(leaseIndexKey(lease, key), LEASE_MARK);
    }
    this.events.push(
      prevKv === undefined ? { type: EventType.PUT, kv } : { type: EventType.PUT, kv, prevKv },
    );
    return revision;
  }

  /** Deletes every live key in the range; returns how many. */
  deleteRange(range: KeyRange): number {
    if (isEmptyKeyRange(range)) return 0;
    if (range.single) {
      const record = this.tables.latest.get(range.start as Buffer);
      if (record === undefined) return 0;
      this.deleteKey(range.start, record);
      return 1;
    }
    // Collect first: LMDB cursors must not see the table change under them.
    const victims: { key: Buffer; value: Buffer }[] = [];
    for (const entry of this.tables.latest.getRange({
      start: range.start as Buffer,
      end: range.end as Buffer,
    })) {
      victims.push(entry);
    }
    for (const victim of victims) this.deleteKey(victim.key, victim.value);
    return victims.length;
  }

  private deleteKey(key: Uint8Array, previousRecord: Buffer): void {
    const revision = this.beginRevision + 1;
    const sub = this.changeCount++;
    const kv = tombstoneKeyValue(key, revision);
    this.tables.latest.removeSync(key as Buffer);
    this.tables.rev.putSync(revisionKey(revision, sub), encodeRecord(kv, true));
    this.tables.hist.putSync(historyKey(historyPrefix(key), revision, sub), HISTORY_TOMBSTONE);
    const oldLease = recordLease(previousRecord);
    if (oldLease !== 0n) this.tables.lease.removeSync(leaseIndexKey(oldLease, key));
    this.events.push({ type: EventType.DELETE, kv, prevKv: decodeRecord(previousRecord) });
  }
}
