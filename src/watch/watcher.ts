// One watcher: a key range, a start revision and its options, and where it stands. A watcher
// is either synced (the hub hands it new events as they are applied) or unsynced (it is behind
// and catches up from the store's history), like etcd's watchableStore groups.

import { EventType, inKeyRange, type KeyRange, keyRange, type MvccEvent } from '../mvcc/index.js';
import type { WatchCreate } from './messages.js';

export type WatcherState = 'synced' | 'unsynced' | 'removed';

/** The stream side of a watcher: where its responses go. Implemented by WatchStream. */
export interface WatcherOwner {
  /** Queues an events response; `headerRevision` is the revision its header reports. */
  sendEvents(watcher: Watcher, events: readonly MvccEvent[], headerRevision: number): void;
  /** The watcher's start revision was compacted away: cancel it with compact_revision. */
  sendCompacted(watcher: Watcher, compactRevision: number): void;
  /** A progress notification (no events) at `revision`. */
  sendProgress(watcher: Watcher, revision: number): void;
}

export class Watcher {
  state: WatcherState = 'unsynced';
  /** The first revision whose events have not been handed to the stream yet. */
  nextRevision: number;
  /** Events queued on the stream and not yet written out: bounded per watcher. */
  pendingEvents = 0;
  /** Responses of any kind queued on the stream and not yet written out. */
  queuedResponses = 0;
  /** progress_notify: no events were sent since the last progress tick (etcd's progress[id]). */
  progressIdle = true;
  readonly range: KeyRange;
  /** rangeEnd as the store's changesSince takes it (undefined: the single key). */
  readonly rangeEnd: Uint8Array | undefined;

  constructor(
    readonly owner: WatcherOwner,
    readonly id: bigint,
    readonly create: WatchCreate,
    startRevision: number,
  ) {
    this.rangeEnd = create.rangeEnd.length === 0 ? undefined : create.rangeEnd;
    this.range = keyRange(create.key, this.rangeEnd);
    this.nextRevision = startRevision;
  }

  /** In range and not filtered out (etcd's NOPUT / NODELETE filters). */
  wants(event: MvccEvent): boolean {
    if (event.type === EventType.PUT ? this.create.filterPut : this.create.filterDelete) return false;
    return inKeyRange(this.range, event.kv.key);
  }
}
