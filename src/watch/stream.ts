// One gRPC Watch stream (etcd v3rpc serverWatchStream): parses WatchRequests, owns the stream's
// watchers, and queues WatchResponses for the gRPC layer in the order etcd 3.4 sends them.
//
// Flow control: the sink returns false (like a Node stream's write()) when the client is not
// reading; the stream then holds responses until resume(). While held, each watcher's queued
// events are bounded by maxPendingEventsPerWatcher: past it the hub stops feeding the watcher
// and it catches up from history after the queue drains.

import { compareBytes, type MvccEvent } from '../mvcc/index.js';
import { assert } from '../raft/assert.js';
import { fragmentResponse } from './fragment.js';
import type { WatchHub } from './hub.js';
import {
  type EventMessage,
  parseWatchRequest,
  type WatchCreate,
  type WatchResponseMessage,
} from './messages.js';
import { Watcher, type WatcherOwner } from './watcher.js';

/**
 * Whether the stream's client may watch a range (auth): null to allow, or the cancel reason to
 * refuse the watch with (etcd checks read permission on the range when the watch is created).
 */
export type WatchPermission = (create: WatchCreate) => string | null;

/** Returning exactly `false` asks the stream to hold further responses until resume(). */
export type WatchResponseSink = (response: WatchResponseMessage) => unknown;

/** mvcc.ErrEmptyWatcherRange. */
export const EMPTY_WATCHER_RANGE_REASON = 'mvcc: watcher range is empty';
/** mvcc.ErrWatcherDuplicateID. */
export const DUPLICATE_WATCH_ID_REASON = 'mvcc: duplicate watch ID provided on the WatchStream';

/** The client sent more control requests than it reads responses (maps to gRPC ResourceExhausted). */
export class WatchStreamOverloadedError extends Error {
  readonly code = 8;
  constructor(limit: number) {
    super(`watch stream: more than ${limit} control responses queued; the client is not reading`);
    this.name = 'WatchStreamOverloadedError';
  }
}

interface Outgoing {
  readonly response: WatchResponseMessage;
  /** Set for responses that belong to a watcher's event flow (dropped once it is canceled). */
  readonly watcher: Watcher | undefined;
  readonly eventCount: number;
}

export class WatchStream implements WatcherOwner {
  private readonly watchers = new Map<bigint, Watcher>();
  /** etcd watchStream.nextID: auto-assigned ids count up from 0, skipping ids in use. */
  private nextWatchId = 0n;
  /** FIFO of responses; entries before outboxHead are already sent (cleared to undefined). */
  private readonly outbox: (Outgoing | undefined)[] = [];
  private outboxHead = 0;
  private queuedControl = 0;
  private sink: WatchResponseSink | undefined;
  private paused = false;
  private flushing = false;
  private closed = false;

  /** @internal Use WatchHub.openStream(). */
  constructor(
    private readonly hub: WatchHub,
    private readonly permission: WatchPermission | null = null,
  ) {}

  /** Where responses go. Responses queued before a sink is set are delivered to it. */
  onResponse(sink: WatchResponseSink): void {
    this.sink = sink;
    this.flush();
  }

  /** Holds responses (the gRPC write buffer is full). */
  pause(): void {
    this.paused = true;
  }

  /** Delivers held responses (the gRPC stream drained). */
  resume(): void {
    this.paused = false;
    this.flush();
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  /** Handles one WatchRequest object from the gRPC layer. Throws WatchRequestError if malformed. */
  handle(raw: unknown): void {
    if (this.closed) return;
    const request = parseWatchRequest(raw);
    // Every request may queue one control response: refuse before changing anything.
    const limit = this.hub.limits.maxQueuedControlResponses;
    if (request.kind !== 'none' && this.queuedControl >= limit) throw new WatchStreamOverloadedError(limit);
    switch (request.kind) {
      case 'create':
        this.create(request.create);
        break;
      case 'cancel':
        this.cancel(request.watchId);
        break;
      case 'progress':
        // etcd 3.4: answered at once with the store's revision and watch_id -1 ("not associated
        // with any watch"), whether or not every watcher is synced (3.5 changed both).
        this.sendControl(this.response(this.hub.revision(), -1n, {}));
        break;
      case 'none':
        // etcd ignores a request with no request_union rather than failing the stream.
        break;
    }
    this.flush();
  }

  /** The client went away: drop every watcher and everything queued. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const watcher of this.watchers.values()) this.hub.removeWatcher(watcher);
    this.watchers.clear();
    this.outbox.length = 0;
    this.outboxHead = 0;
    this.hub.streamClosed(this);
  }

  // --- WatcherOwner (called by the hub) ---------------------------------------------------------

  sendEvents(watcher: Watcher, events: readonly MvccEvent[], headerRevision: number): void {
    const messages: EventMessage[] = events.map((event) =>
      this.hub.eventMessageOf(event, watcher.create.prevKv),
    );
    const response = this.response(headerRevision, watcher.id, { events: messages });
    const pieces = watcher.create.fragment
      ? fragmentResponse(response, this.hub.limits.maxRequestBytes)
      : [response];
    for (const piece of pieces) this.push({ response: piece, watcher, eventCount: piece.events.length });
    // etcd elides the next progress notification once a watcher got events.
    watcher.progressIdle = false;
    this.flush();
  }

  sendCompacted(watcher: Watcher, compactRevision: number): void {
    this.removeWatcher(watcher);
    // etcd 3.4 sends this from the mvcc layer with Revision 0, so its header revision is 0.
    this.sendControl(
      this.response(0, watcher.id, { canceled: true, compact_revision: String(compactRevision) }),
    );
    this.flush();
  }

  sendProgress(watcher: Watcher, revision: number): void {
    this.push({ response: this.response(revision, watcher.id, {}), watcher, eventCount: 0 });
    this.flush();
  }

  /** @internal The watchers that asked for progress notifications. */
  *watchersForProgress(): Generator<Watcher> {
    for (const watcher of this.watchers.values()) if (watcher.create.progressNotify) yield watcher;
  }

  // --- requests -------------------------------------------------------------------------------

  private create(create: WatchCreate): void {
    const current = this.hub.revision();
    // etcd's serverWatchStream checks permission before the watch store sees the request, and
    // answers with the requested id.
    const refusal = this.permission?.(create) ?? null;
    if (refusal !== null) {
      this.refuse(current, refusal, create.watchId);
      return;
    }
    // etcd watchStream.Watch: the range check comes first, then the id.
    if (
      create.rangeEnd.length !== 0 &&
      !isFromKey(create.rangeEnd) &&
      compareBytes(create.key, create.rangeEnd) >= 0
    ) {
      this.refuse(current, EMPTY_WATCHER_RANGE_REASON);
      return;
    }
    let id = create.watchId;
    if (id === 0n) {
      while (this.watchers.has(this.nextWatchId)) this.nextWatchId++;
      id = this.nextWatchId;
    } else if (this.watchers.has(id)) {
      this.refuse(current, DUPLICATE_WATCH_ID_REASON);
      return;
    }
    const limit = this.hub.limits.maxWatchersPerStream;
    if (this.watchers.size >= limit) {
      this.refuse(current, `flotilla: too many watchers on this stream (limit ${limit})`);
      return;
    }
    if (create.watchId === 0n) this.nextWatchId++;
    const watcher = new Watcher(this, id, create, create.startRevision);
    this.watchers.set(id, watcher);
    // The created response goes out before any event of the watcher (etcd holds events until then).
    this.sendControl(this.response(current, id, { created: true }));
    this.hub.addWatcher(watcher, create.startRevision);
  }

  private refuse(current: number, reason: string, id = -1n): void {
    this.sendControl(this.response(current, id, { created: true, canceled: true, cancel_reason: reason }));
  }

  private cancel(id: bigint): void {
    const watcher = this.watchers.get(id);
    // etcd 3.4 answers nothing when the id is unknown.
    if (watcher === undefined) return;
    this.removeWatcher(watcher);
    this.sendControl(this.response(this.hub.revision(), id, { canceled: true }));
  }

  private removeWatcher(watcher: Watcher): void {
    this.hub.removeWatcher(watcher);
    this.watchers.delete(watcher.id);
  }

  // --- the outbox -------------------------------------------------------------------------------

  private response(
    revision: number,
    watchId: bigint,
    fields: Partial<Omit<WatchResponseMessage, 'header' | 'watch_id'>>,
  ): WatchResponseMessage {
    return {
      header: this.hub.header(revision),
      watch_id: watchId.toString(),
      created: false,
      canceled: false,
      compact_revision: '0',
      cancel_reason: '',
      fragment: false,
      events: [],
      ...fields,
    };
  }

  private sendControl(response: WatchResponseMessage): void {
    this.queuedControl++;
    this.push({ response, watcher: undefined, eventCount: 0 });
  }

  private push(item: Outgoing): void {
    if (this.closed) return;
    if (item.watcher !== undefined) {
      item.watcher.pendingEvents += item.eventCount;
      item.watcher.queuedResponses++;
    }
    this.outbox.push(item);
  }

  private flush(): void {
    // The sink may call back into the stream (handle, pause): the outer loop delivers.
    if (this.flushing) return;
    this.flushing = true;
    let freed = false;
    try {
      while (!this.paused && this.sink !== undefined && this.outboxHead < this.outbox.length) {
        const item = this.outbox[this.outboxHead]!;
        this.outbox[this.outboxHead++] = undefined;
        const watcher = item.watcher;
        if (watcher === undefined) {
          this.queuedControl--;
        } else {
          watcher.pendingEvents -= item.eventCount;
          watcher.queuedResponses--;
          assert(watcher.pendingEvents >= 0, 'watcher pending events went negative');
          // Only an unsynced watcher waits for room in its queue to read more history.
          if (watcher.state === 'unsynced') freed = true;
          // No event reaches the client after its watcher was canceled.
          if (watcher.state === 'removed') continue;
        }
        if (this.sink(item.response) === false) this.paused = true;
      }
    } finally {
      this.flushing = false;
      if (this.outboxHead === this.outbox.length || this.outboxHead > 1024) {
        this.outbox.splice(0, this.outboxHead);
        this.outboxHead = 0;
      }
    }
    if (freed) this.hub.scheduleCatchUp();
  }
}

function isFromKey(rangeEnd: Uint8Array): boolean {
  return rangeEnd.length === 1 && rangeEnd[0] === 0;
}
