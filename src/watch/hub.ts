// The watch hub of one node (etcd's watchableStore): every watcher of every stream, fed after
// each applied batch. Synced watchers get new events directly from notify(); unsynced ones —
// new watchers starting at a past revision, and "victims" whose stream could not keep up —
// catch up from the store's history in bounded batches, on setImmediate slices, then rejoin
// the synced group. Writes never wait for a watcher: a watcher whose queue is full is moved to
// the unsynced group and re-reads what it missed from history later.
//
// Ordering: a watcher is in exactly one group; the hub hands it revisions strictly in order
// (nextRevision only grows), and catch-up never reads past the last notified revision, so a
// revision is delivered once — either from history or from notify, never both.

import {
  type ChangesResult,
  CompactedError,
  EventType,
  type KeyValue,
  type MvccEvent,
} from '../mvcc/index.js';
import { assert } from '../raft/assert.js';
import { type EventMessage, eventMessage, type HeaderFields } from './messages.js';
import { type WatchPermission, WatchStream } from './stream.js';
import type { Watcher } from './watcher.js';

/** The part of MvccStore the hub reads. */
export interface WatchableStore {
  currentRevision(): number;
  compactRevision(): number;
  changesSince(
    startRevision: number,
    key: Uint8Array,
    rangeEnd: Uint8Array | undefined,
    limit: number,
    maxScannedRecords: number,
  ): ChangesResult;
  getAt(key: Uint8Array, revision: number): KeyValue | undefined;
}

export interface WatchHubOptions {
  readonly store: WatchableStore;
  /** cluster_id, member_id and raft_term for every response header (the hub sets the revision). */
  readonly header: () => HeaderFields;
  readonly maxWatchersPerStream?: number;
  /** Events queued for one watcher before it is moved to the unsynced group. */
  readonly maxPendingEventsPerWatcher?: number;
  /** Events read from history per catch-up batch (whole revisions: a batch may exceed it). */
  readonly catchUpBatchEvents?: number;
  /** History records scanned per catch-up batch, matching or not. */
  readonly catchUpScanRecords?: number;
  /** Catch-up batches per setImmediate slice. */
  readonly catchUpBatchesPerSlice?: number;
  /** progress_notify period; 0 disables the timer (tickProgress() still works). */
  readonly progressNotifyIntervalMs?: number;
  /** Responses of fragmenting watchers are split below this many bytes. */
  readonly maxRequestBytes?: number;
  /** Control responses (created, canceled, progress) queued on a stream the client does not read. */
  readonly maxQueuedControlResponses?: number;
}

export const DEFAULT_MAX_WATCHERS_PER_STREAM = 10_000;
export const DEFAULT_MAX_PENDING_EVENTS_PER_WATCHER = 1024;
export const DEFAULT_CATCH_UP_BATCH_EVENTS = 256;
export const DEFAULT_CATCH_UP_SCAN_RECORDS = 4096;
export const DEFAULT_CATCH_UP_BATCHES_PER_SLICE = 16;
/** etcd v3rpc progressReportInterval. */
export const DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;
/** etcd's default --max-request-bytes (1.5 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
export const DEFAULT_MAX_QUEUED_CONTROL_RESPONSES = 1024;

export interface WatchLimits {
  readonly maxWatchersPerStream: number;
  readonly maxPendingEventsPerWatcher: number;
  readonly catchUpBatchEvents: number;
  readonly catchUpScanRecords: number;
  readonly catchUpBatchesPerSlice: number;
  readonly progressNotifyIntervalMs: number;
  readonly maxRequestBytes: number;
  readonly maxQueuedControlResponses: number;
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 0 || (v === 0 && !allowZero)) {
    throw new RangeError(
      `watch hub: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${v}`,
    );
  }
  return v;
}

export class WatchHub {
  readonly limits: WatchLimits;
  private readonly store: WatchableStore;
  private readonly headerFields: () => HeaderFields;
  private readonly synced = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  private readonly streams = new Set<WatchStream>();
  /** The last revision notify() reported: what "current" means to watchers. */
  private notifiedRevision: number;
  private catchUpImmediate: NodeJS.Immediate | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: WatchHubOptions) {
    this.store = options.store;
    this.headerFields = options.header;
    this.limits = {
      maxWatchersPerStream: positive(
        'maxWatchersPerStream',
        options.maxWatchersPerStream,
        DEFAULT_MAX_WATCHERS_PER_STREAM,
      ),
      maxPendingEventsPerWatcher: positive(
        'maxPendingEventsPerWatcher',
        options.maxPendingEventsPerWatcher,
        DEFAULT_MAX_PENDING_EVENTS_PER_WATCHER,
      ),
      catchUpBatchEvents: positive(
        'catchUpBatchEvents',
        options.catchUpBatchEvents,
        DEFAULT_CATCH_UP_BATCH_EVENTS,
      ),
      catchUpScanRecords: positive(
        'catchUpScanRecords',
        options.catchUpScanRecords,
        DEFAULT_CATCH_UP_SCAN_RECORDS,
      ),
      catchUpBatchesPerSlice: positive(
        'catchUpBatchesPerSlice',
        options.catchUpBatchesPerSlice,
        DEFAULT_CATCH_UP_BATCHES_PER_SLICE,
      ),
      progressNotifyIntervalMs: positive(
        'progressNotifyIntervalMs',
        options.progressNotifyIntervalMs,
        DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS,
        true,
      ),
      maxRequestBytes: positive('maxRequestBytes', options.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES),
      maxQueuedControlResponses: positive(
        'maxQueuedControlResponses',
        options.maxQueuedControlResponses,
        DEFAULT_MAX_QUEUED_CONTROL_RESPONSES,
      ),
    };
    this.notifiedRevision = this.store.currentRevision();
    if (this.limits.progressNotifyIntervalMs > 0) {
      this.progressTimer = setInterval(() => this.tickProgress(), this.limits.progressNotifyIntervalMs);
      // A hub alone must not keep the process alive.
      this.progressTimer.unref();
    }
  }

  /** A new Watch stream (one per gRPC Watch call). */
  openStream(permission: WatchPermission | null = null): WatchStream {
    assert(!this.closed, 'watch hub is closed');
    const stream = new WatchStream(this, permission);
    this.streams.add(stream);
    return stream;
  }

  /** The revision watchers consider current: the last one notified. */
  revision(): number {
    return this.notifiedRevision;
  }

  /** Counts for metrics and tests. */
  stats(): { streams: number; synced: number; unsynced: number } {
    return { streams: this.streams.size, synced: this.synced.size, unsynced: this.unsynced.size };
  }

  /** Events queued on streams and not yet written out, over every watcher (for metrics). */
  pendingEvents(): number {
    let total = 0;
    for (const watcher of this.synced) total += watcher.pendingEvents;
    for (const watcher of this.unsynced) total += watcher.pendingEvents;
    return total;
  }

  /**
   * Called after every applied batch with its events (in revision order, possibly several
   * revisions) and the store's revision after it.
   */
  notify(events: readonly MvccEvent[], revision: number): void {
    assert(revision >= this.notifiedRevision, 'watch notify went back in revision');
    let start = 0;
    while (start < events.length) {
      const eventRevision = events[start]!.kv.modRevision;
      assert(
        eventRevision > this.notifiedRevision && eventRevision <= revision,
        'watch notify: event revision out of order',
      );
      let end = start + 1;
      while (end < events.length && events[end]!.kv.modRevision === eventRevision) end++;
      this.notifyRevision(events, start, end, eventRevision);
      start = end;
    }
    this.notifiedRevision = revision;
    this.scheduleCatchUp();
  }

  /**
   * The store was replaced by a snapshot: history may have jumped, so every synced watcher
   * re-reads from history (etcd watchableStore.Restore moves them all to unsynced).
   */
  restored(): void {
    for (const watcher of this.synced) this.moveToUnsynced(watcher);
    this.notifiedRevision = this.store.currentRevision();
    this.scheduleCatchUp();
  }

  /** Test hook: runs catch-up to completion now, instead of on setImmediate slices. */
  drain(): void {
    while (this.runCatchUpSlice(Number.POSITIVE_INFINITY)) {
      // each slice makes progress or returns false
    }
  }

  /**
   * One progress_notify tick (etcd sendLoop's progressTicker): a watcher that asked for
   * progress notifications, is synced, has nothing queued and got no events since the last
   * tick receives a response with no events at the current revision.
   */
  tickProgress(): void {
    for (const stream of this.streams) {
      for (const watcher of stream.watchersForProgress()) {
        if (watcher.progressIdle && watcher.state === 'synced' && watcher.queuedResponses === 0) {
          watcher.owner.sendProgress(watcher, this.notifiedRevision);
        }
        watcher.progressIdle = true;
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const stream of [...this.streams]) stream.close();
    if (this.catchUpImmediate !== undefined) clearImmediate(this.catchUpImmediate);
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer);
    this.catchUpImmediate = undefined;
    this.progressTimer = undefined;
  }

  // --- used by WatchStream -------------------------------------------------------------------

  /** @internal */
  header(revision: number): { cluster_id: string; member_id: string; revision: string; raft_term: string } {
    return { ...this.headerFields(), revision: String(revision) };
  }

  /** @internal Registers a new watcher; `startRevision` 0 means "from now". */
  addWatcher(watcher: Watcher, startRevision: number): void {
    const current = this.notifiedRevision;
    if (startRevision === 0 || startRevision > current) {
      // etcd: synced with minRev = max(current + 1, startRev); a future start waits for it.
      watcher.nextRevision = Math.max(current + 1, startRevision);
      watcher.state = 'synced';
      this.synced.add(watcher);
      return;
    }
    // A negative start reads from the oldest revision kept (or is compacted, as in etcd).
    watcher.nextRevision = Math.max(startRevision, 0);
    watcher.state = 'unsynced';
    this.unsynced.add(watcher);
    this.scheduleCatchUp();
  }

  /** @internal */
  removeWatcher(watcher: Watcher): void {
    this.synced.delete(watcher);
    this.unsynced.delete(watcher);
    watcher.state = 'removed';
  }

  /** @internal */
  streamClosed(stream: WatchStream): void {
    this.streams.delete(stream);
  }

  /**
   * @internal The prev_kv of an event: the key at modRevision - 1, unless compacted. As in etcd's
   * sendLoop, a create event (a put whose create revision is its mod revision) has none — even
   * when a txn deleted the key and created it again in one revision.
   */
  /**
   * The event as a WatchResponse event, built once per event (and per prev_kv choice) however
   * many watchers it goes to: the gRPC layer also caches its encoded bytes by this object.
   */
  eventMessageOf(event: MvccEvent, withPrevKv: boolean): EventMessage {
    const cache = withPrevKv ? this.eventMessagesWithPrev : this.eventMessages;
    let message = cache.get(event);
    if (message === undefined) {
      message = eventMessage(event, withPrevKv ? this.prevKvOf(event) : undefined);
      cache.set(event, message);
    }
    return message;
  }

  private readonly eventMessages = new WeakMap<MvccEvent, EventMessage>();
  private readonly eventMessagesWithPrev = new WeakMap<MvccEvent, EventMessage>();

  prevKvOf(event: MvccEvent): KeyValue | undefined {
    if (event.type === EventType.PUT && event.kv.createRevision === event.kv.modRevision) return undefined;
    if (event.prevKv !== undefined) return event.prevKv;
    const at = event.kv.modRevision - 1;
    if (at < this.store.compactRevision() || at < 1) return undefined;
    return this.store.getAt(event.kv.key, at);
  }

  /** Schedules a catch-up slice if some unsynced watcher can make progress. */
  scheduleCatchUp(): void {
    if (this.closed || this.catchUpImmediate !== undefined || !this.hasRunnableWatcher()) return;
    this.catchUpImmediate = setImmediate(() => {
      this.catchUpImmediate = undefined;
      if (this.runCatchUpSlice(this.limits.catchUpBatchesPerSlice)) this.scheduleCatchUp();
    });
  }

  // --- internals -------------------------------------------------------------------------------

  private notifyRevision(events: readonly MvccEvent[], start: number, end: number, revision: number): void {
    for (const watcher of this.synced) {
      if (watcher.nextRevision > revision) continue; // a future start revision, or created during this call
      let matched: MvccEvent[] | undefined;
      for (let i = start; i < end; i++) {
        const event = events[i]!;
        if (!watcher.wants(event)) continue;
        if (matched === undefined) matched = [];
        matched.push(event);
      }
      if (matched !== undefined) {
        if (
          watcher.pendingEvents > 0 &&
          watcher.pendingEvents + matched.length > this.limits.maxPendingEventsPerWatcher
        ) {
          // A victim: it will re-read this revision from history once its queue drains.
          watcher.nextRevision = revision;
          this.moveToUnsynced(watcher);
          continue;
        }
        watcher.owner.sendEvents(watcher, matched, revision);
      }
      watcher.nextRevision = revision + 1;
    }
  }

  private moveToUnsynced(watcher: Watcher): void {
    this.synced.delete(watcher);
    watcher.state = 'unsynced';
    this.unsynced.add(watcher);
  }

  private moveToSynced(watcher: Watcher): void {
    this.unsynced.delete(watcher);
    watcher.state = 'synced';
    this.synced.add(watcher);
  }

  private canCatchUp(watcher: Watcher): boolean {
    return watcher.pendingEvents < this.limits.maxPendingEventsPerWatcher;
  }

  private hasRunnableWatcher(): boolean {
    for (const watcher of this.unsynced) if (this.canCatchUp(watcher)) return true;
    return false;
  }

  /** Runs up to `batches` catch-up batches; true if more catch-up work can run now. */
  private runCatchUpSlice(batches: number): boolean {
    let budget = batches;
    let progressed = false;
    // Round robin: each pass gives every runnable watcher one batch.
    while (budget > 0) {
      const runnable = [...this.unsynced].filter((w) => this.canCatchUp(w));
      if (runnable.length === 0) return false;
      for (const watcher of runnable) {
        if (budget <= 0) break;
        if (watcher.state !== 'unsynced' || !this.canCatchUp(watcher)) continue;
        this.catchUpBatch(watcher);
        budget--;
        progressed = true;
      }
    }
    return progressed && this.hasRunnableWatcher();
  }

  /** One history read for one watcher (etcd syncWatchers, for a single watcher). */
  private catchUpBatch(watcher: Watcher): void {
    const target = this.notifiedRevision;
    if (watcher.nextRevision > target) {
      this.moveToSynced(watcher);
      return;
    }
    const room = this.limits.maxPendingEventsPerWatcher - watcher.pendingEvents;
    let result: ChangesResult;
    try {
      result = this.store.changesSince(
        watcher.nextRevision,
        watcher.create.key,
        watcher.rangeEnd,
        Math.max(1, Math.min(this.limits.catchUpBatchEvents, room)),
        this.limits.catchUpScanRecords,
      );
    } catch (error) {
      if (!(error instanceof CompactedError)) throw error;
      // etcd chooseAll: minRev < compactRev -> a compacted response, and the watcher is gone.
      watcher.owner.sendCompacted(watcher, this.store.compactRevision());
      return;
    }
    // Never read past what notify() has reported: those revisions will arrive through notify.
    const next = Math.min(result.nextRevision, target + 1);
    assert(next > watcher.nextRevision, 'catch-up made no progress');
    const events = result.events.filter((event) => event.kv.modRevision < next && watcher.wants(event));
    if (events.length > 0) watcher.owner.sendEvents(watcher, events, next - 1);
    watcher.nextRevision = Math.max(next, watcher.nextRevision);
    if (watcher.state === 'unsynced' && watcher.nextRevision > target) this.moveToSynced(watcher);
  }
}
