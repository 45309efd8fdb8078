// One direction of a proxied connection (proxy-connection.ts): bytes read from `source` are
// written to `sink` now (rule "pass") or after a delay (rule "delay"), always in arrival order.
//
// A pipe never drops a byte by itself: dropping part of a framed stream would corrupt every later
// frame, so a "drop" rule cuts the whole connection instead (the owner's job, not the pipe's).

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { assert } from '../raft/assert.js';

/** Counters a pipe adds to; shared with its proxy (LinkProxy.stats()). */
export interface PipeCounters {
  /** Bytes handed to a sink socket. */
  bytesForwarded: number;
  /** Bytes read from a source that will never reach the sink (cut, or the sink went away). */
  bytesDropped: number;
}

interface DelayedChunk {
  readonly chunk: Uint8Array;
  /** performance.now() time at which the chunk may be written. */
  readonly releaseAtMs: number;
}

type PipeState = 'open' | 'finishing' | 'closed';

/** Consumed queue slots tolerated before the array is compacted (amortised O(1) per chunk). */
const QUEUE_COMPACT_AFTER_CHUNKS = 1024;

export class Pipe {
  private state: PipeState = 'open';
  /** FIFO of delayed chunks; `head` indexes the oldest one still queued. */
  private queue: DelayedChunk[] = [];
  private head = 0;
  private queuedBytesCount = 0;
  /** Release times never go backwards, so a shorter new delay cannot reorder bytes. */
  private lastReleaseAtMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly releaseBound = (): void => this.releaseDue();

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly counters: PipeCounters,
  ) {
    // Backpressure: write() pauses the source when the sink's buffer is full; resume once drained.
    sink.on('drain', () => {
      if (this.state !== 'closed') source.resume();
    });
  }

  /** Bytes waiting for their delay to pass (not counting the sink's own write buffer). */
  get queuedBytes(): number {
    return this.queuedBytesCount;
  }

  /** Forwards `chunk` after `delayMs` (0: now, unless older chunks still wait, to keep order). */
  push(chunk: Uint8Array, delayMs: number): void {
    if (this.state !== 'open') {
      this.counters.bytesDropped += chunk.length;
      return;
    }
    if (delayMs === 0 && this.queuedBytesCount === 0) {
      this.write(chunk);
      return;
    }
    const releaseAtMs = Math.max(performance.now() + delayMs, this.lastReleaseAtMs);
    this.lastReleaseAtMs = releaseAtMs;
    this.queue.push({ chunk, releaseAtMs });
    this.queuedBytesCount += chunk.length;
    if (this.timer === null) this.schedule();
  }

  /** The rule became "pass": what was held back goes out now, in order. */
  releaseAll(): void {
    if (this.state === 'closed') return;
    this.clearTimer();
    while (this.head < this.queue.length) this.write(this.shift());
    this.lastReleaseAtMs = 0;
    if (this.state === 'finishing') this.endSink();
  }

  /**
   * The source is gone (closed or half-closed): forward what is still delayed, on schedule, then
   * end the sink so its peer sees the same close the source's peer made.
   */
  sourceClosed(): void {
    if (this.state !== 'open') return;
    this.state = 'finishing';
    if (this.queuedBytesCount === 0) this.endSink();
  }

  /** The connection was cut or the sink is gone: forget what is queued (counted as dropped). */
  discard(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimer();
    this.counters.bytesDropped += this.queuedBytesCount;
    this.queue = [];
    this.head = 0;
    this.queuedBytesCount = 0;
  }

  private releaseDue(): void {
    this.timer = null;
    if (this.state === 'closed') return;
    const nowMs = performance.now();
    while (this.head < this.queue.length && this.queue[this.head]!.releaseAtMs <= nowMs) {
      this.write(this.shift());
    }
    if (this.head < this.queue.length) this.schedule();
    else if (this.state === 'finishing') this.endSink();
  }

  private schedule(): void {
    assert(this.timer === null && this.head < this.queue.length, 'schedule with a timer or nothing queued');
    // Timers may fire a little before performance.now() reaches the target; releaseDue re-arms.
    const waitMs = Math.max(1, Math.ceil(this.queue[this.head]!.releaseAtMs - performance.now()));
    this.timer = setTimeout(this.releaseBound, waitMs);
  }

  private shift(): Uint8Array {
    const { chunk } = this.queue[this.head]!;
    this.head++;
    this.queuedBytesCount -= chunk.length;
    // Compact once the consumed prefix dominates, so a long-lived queue does not grow forever.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > QUEUE_COMPACT_AFTER_CHUNKS && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return chunk;
  }

  private write(chunk: Uint8Array): void {
    this.counters.bytesForwarded += chunk.length;
    if (!this.sink.write(chunk)) this.source.pause();
  }

  private endSink(): void {
    this.state = 'closed';
    this.clearTimer();
    // Destroy once flushed to the kernel: the kernel still delivers those bytes, then closes.
    this.sink.end(() => this.sink.destroy());
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }
}
