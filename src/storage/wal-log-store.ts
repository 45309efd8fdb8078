// The raft LogStore backed by the WAL and snapshot files of one group.
//
// The core reads through the LogStore interface; the driver writes through `save` + `sync`
// (persist step of each Ready), `applySnapshot` (a snapshot received from the leader) and
// `createSnapshot` + `compact` (a local snapshot after applying).
//
// Memory bound: after recovery every entry after the latest snapshot is held in memory (in a
// MemoryLogStore), so memory is bounded by how often the driver snapshots and compacts
// (roughly snapshot interval × entry size). Entries below the snapshot are released from
// memory by `compact` and from disk by `releaseSegments`.

import { assert } from '../raft/assert.js';
import { type LogStore, MemoryLogStore } from '../raft/log-store.js';
import type { ConfState, Entry, GroupId, HardState, Snapshot, SnapshotMetadata } from '../raft/types.js';
import type { Disk } from './disk.js';
import { SnapshotCorruptError, SnapshotMissingError } from './errors.js';
import type { SnapshotStore } from './snapshot-file.js';
import { Wal, type WalRecovery } from './wal.js';

export interface WalLogStoreOptions {
  readonly disk: Disk;
  readonly walDir: string;
  readonly snapshots: SnapshotStore;
  readonly clusterId: bigint;
  readonly groupId: GroupId;
  readonly segmentBytesMax?: number;
}

export class WalLogStore implements LogStore {
  private constructor(
    readonly wal: Wal,
    private readonly snapshots: SnapshotStore,
    private readonly memory: MemoryLogStore,
    /** What recovery found (torn tail cut, etc.), for logging at startup. */
    readonly recovery: WalRecovery,
  ) {}

  /**
   * Opens the WAL, loads the snapshot its marker names (SnapshotMissingError or
   * SnapshotCorruptError if that file is unusable) and rebuilds the in-memory log.
   */
  static open(options: WalLogStoreOptions): WalLogStore {
    // Snapshot file before WAL marker (snapshot-file.ts), so the marker's file always exists.
    const { wal, recovery } = Wal.open({
      disk: options.disk,
      dir: options.walDir,
      clusterId: options.clusterId,
      groupId: options.groupId,
      segmentBytesMax: options.segmentBytesMax,
    });
    const memory = new MemoryLogStore();
    const { marker, entries } = recovery;
    const lastIndex = marker.index + entries.length;
    const termAt = (index: number): number =>
      index === marker.index ? marker.term : entries[index - marker.index - 1].term;
    const snapshot = latestUsableSnapshot(options.snapshots, marker.index, lastIndex, termAt);
    if (snapshot === null || snapshot.metadata.index === marker.index) {
      if (snapshot !== null) memory.applySnapshot(snapshot);
      memory.append(entries);
    } else {
      // Compacted below the snapshot (entries kept for slow followers): start the log at the
      // marker, then record the newer snapshot over it.
      const { index, term } = marker;
      memory.applySnapshot({
        metadata: { index, term, confState: snapshot.metadata.confState },
        data: new Uint8Array(0),
      });
      memory.append(entries);
      memory.createSnapshot(snapshot.metadata, snapshot.data);
    }
    memory.setHardState(recovery.hardState);
    return new WalLogStore(wal, options.snapshots, memory, recovery);
  }

  // LogStore: answered from memory.

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.memory.initialState();
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.memory.entries(lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.memory.term(index);
  }

  firstIndex(): number {
    return this.memory.firstIndex();
  }

  lastIndex(): number {
    return this.memory.lastIndex();
  }

  snapshot(): Snapshot {
    return this.memory.snapshot();
  }

  // Driver side.

  /** Buffers a Ready's hard state (null if unchanged) and entries; durable after `sync()`. */
  save(hardState: HardState | null, entries: readonly Entry[]): void {
    this.wal.append(entries, hardState ?? undefined);
    this.memory.append(entries);
    if (hardState !== null) this.memory.setHardState(hardState);
  }

  /** Group commit: one fsync for everything saved since the last sync. Returns latency (ms). */
  sync(): number {
    return this.wal.sync();
  }

  /** sync() with the fsync off the event loop (see Wal.syncAsync). */
  syncAsync(done: (error: Error | null, latencyMs: number) => void): void {
    this.wal.syncAsync(done);
  }

  /**
   * Installs a snapshot received from the leader: saves the file durably, then records in the
   * WAL that the log now starts after it (replacing the log), and syncs.
   */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    assert(index >= this.memory.snapshot().metadata.index, 'snapshot older than the current one');
    this.snapshots.save(snapshot);
    this.wal.saveSnapshotMarker({ index, term, replacesLog: true });
    this.wal.sync();
    this.memory.applySnapshot(snapshot);
  }

  /**
   * Records a snapshot the local state machine took at `metadata.index` (file saved durably),
   * keeping the log. Call `compact` afterwards to drop the entries it covers.
   */
  createSnapshot(metadata: SnapshotMetadata, data: Uint8Array): Snapshot {
    const snapshot = this.memory.createSnapshot(metadata, data);
    this.snapshots.save(snapshot);
    return snapshot;
  }

  /**
   * Drops entries before `index` (Raft §7): `index` must be at or below the latest snapshot.
   * The marker is durable after the next `sync()`; then `releaseSegments()` frees the disk.
   */
  compact(index: number): void {
    const snapshotIndex = this.memory.snapshot().metadata.index;
    assert(index <= snapshotIndex, `compact(${index}) beyond snapshot ${snapshotIndex}`);
    if (index <= this.wal.snapshotIndex()) return;
    this.wal.saveSnapshotMarker({ index, term: this.memory.term(index), replacesLog: false });
    this.memory.compact(index);
  }

  /** Deletes WAL segments wholly covered by the durable snapshot marker. */
  releaseSegments(): number {
    return this.wal.releaseTo(this.wal.snapshotIndex());
  }

  close(): void {
    this.wal.close();
  }
}

/**
 * The newest snapshot file that fits the recovered log: at the marker itself, or above it, at
 * or below the last index and agreeing with the log's term there (a file saved just before a
 * crash, whose marker never made it, is ignored unless the log agrees with it). A corrupt file
 * above the marker is skipped; a corrupt or missing file at the marker stops recovery.
 */
function latestUsableSnapshot(
  snapshots: SnapshotStore,
  markerIndex: number,
  lastIndex: number,
  termAt: (index: number) => number,
): Snapshot | null {
  for (const info of snapshots.list()) {
    if (info.index < markerIndex || info.index > lastIndex || termAt(info.index) !== info.term) continue;
    try {
      return snapshots.load(info.name);
    } catch (error) {
      // Safe to fall back: an older snapshot at or above the marker still covers the log start.
      if (error instanceof SnapshotCorruptError && info.index > markerIndex) continue;
      throw error;
    }
  }
  if (markerIndex > 0) throw new SnapshotMissingError(snapshots.dir, markerIndex);
  return null;
}
