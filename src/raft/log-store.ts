// The read-only view of durable log state that the core consults (etcd raft's Storage).
// The core never writes through this interface: the driver persists what `ready()` hands out,
// then tells the core with `advance()`. `MemoryLogStore` is the in-memory twin used by the
// simulator and tests; the WAL-backed store in src/storage implements the same contract.

import { assert } from './assert.js';
import {
  type ConfState,
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type Snapshot,
  type SnapshotMetadata,
} from './types.js';

/** The requested index is at or below the snapshot: it has been compacted away. */
export class LogCompactedError extends Error {
  constructor(readonly requestedIndex: number) {
    super(`raft: requested index ${requestedIndex} is unavailable due to compaction`);
    this.name = 'LogCompactedError';
  }
}

export interface LogStore {
  /** Hard state and membership as persisted: used once, when the core starts. */
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any exist, at most `maxBytes` after the first. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`; the snapshot's index answers with the snapshot's term. */
  term(index: number): number;
  /** Index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot. */
  snapshot(): Snapshot;
}

export function entryBytes(entry: Entry): number {
  // A fixed overhead per entry keeps empty entries from being "free" in byte budgets.
  return entry.data.byteLength + 24;
}

/** Takes entries from the front while their total stays within `maxBytes` (always at least one). */
export function limitBytes(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let total = entryBytes(entries[0]);
  let count = 1;
  while (count < entries.length) {
    total += entryBytes(entries[count]);
    if (total > maxBytes) break;
    count++;
  }
  return count === entries.length ? entries : entries.slice(0, count);
}

export const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE }, data: new Uint8Array(0) };
}

/**
 * An in-memory LogStore. `entriesList[0]` is a dummy entry at the snapshot's index and term,
 * so that `term(snapshotIndex)` answers without a special case (as in etcd's MemoryStorage).
 */
export class MemoryLogStore implements LogStore {
  hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = emptySnapshot();
  private log: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  firstIndex(): number {
    return this.log[0].index + 1;
  }

  lastIndex(): number {
    return this.log[0].index + this.log.length - 1;
  }

  term(index: number): number {
    const offset = this.log[0].index;
    if (index < offset) throw new LogCompactedError(index);
    assert(index - offset < this.log.length, `term(${index}) beyond last index ${this.lastIndex()}`);
    return this.log[index - offset].term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.log[0].index;
    if (lo <= offset) throw new LogCompactedError(lo);
    assert(hi <= this.lastIndex() + 1, `entries(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    return limitBytes(this.log.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Appends entries, truncating any conflicting suffix (the new entries win). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // entirely covered by the snapshot: already applied
    const toAppend = first > entries[0].index ? entries.slice(first - entries[0].index) : entries;
    const offset = toAppend[0].index - this.log[0].index;
    assert(offset <= this.log.length, `append leaves a gap: log ends at ${this.lastIndex()}`);
    this.log.length = offset;
    for (const entry of toAppend) this.log.push(entry);
  }

  /** Replaces the whole log with a snapshot (a follower catching up). */
  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.metadata.index >= this.snap.metadata.index, 'snapshot older than the current one');
    this.snap = snapshot;
    const { index, term } = snapshot.metadata;
    this.log = [{ term, index, type: 0, data: new Uint8Array(0) }];
  }

  /** Records a snapshot taken by the local state machine at `index`, keeping the log. */
  createSnapshot(metadata: SnapshotMetadata, data: Uint8Array): Snapshot {
    assert(metadata.index > this.snap.metadata.index, 'snapshot not newer than the current one');
    assert(metadata.index <= this.lastIndex(), 'snapshot beyond the last index');
    this.snap = { metadata, data };
    return this.snap;
  }

  /** Discards entries before `index` (log compaction, Raft §7). */
  compact(index: number): void {
    const offset = this.log[0].index;
    if (index <= offset) return;
    assert(index <= this.lastIndex(), `compact(${index}) beyond last index ${this.lastIndex()}`);
    const keep = this.log.slice(index - offset);
    this.log = [{ term: keep[0].term, index, type: 0, data: new Uint8Array(0) }, ...keep.slice(1)];
  }

  /** A deep-enough copy for crash simulation: what was durable at this moment. */
  clone(): MemoryLogStore {
    const copy = new MemoryLogStore();
    copy.hardState = this.hardState;
    copy.snap = this.snap;
    copy.log = this.log.slice();
    return copy;
  }
}
