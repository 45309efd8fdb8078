// The leader's view of one follower: how far it matches, what to send next, and how much may be
// in flight (flow control). States as in etcd raft's tracker/progress.go:
//   probe     – we do not know where the follower's log ends; send one append per heartbeat
//   replicate – the follower is keeping up; pipeline appends optimistically
//   snapshot  – the follower needs a snapshot; send nothing else until it reports back

import { assert } from './assert.js';

export enum ProgressState {
  Probe = 'probe',
  Replicate = 'replicate',
  Snapshot = 'snapshot',
}

/** A bounded ring of in-flight appends: (last index, bytes) per message. */
export class Inflights {
  private readonly lastIndexes: number[] = [];
  private readonly sizes: number[] = [];
  private bytesTotal = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  add(lastIndex: number, bytes: number): void {
    assert(!this.full(), 'cannot add to full inflights');
    assert(
      this.lastIndexes.length === 0 || lastIndex >= this.lastIndexes[this.lastIndexes.length - 1],
      'inflight indexes must not decrease',
    );
    this.lastIndexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytesTotal += bytes;
  }

  /** Frees every in-flight message whose last index is ≤ `index` (acknowledged). */
  freeLE(index: number): void {
    let count = 0;
    while (count < this.lastIndexes.length && this.lastIndexes[count] <= index) {
      this.bytesTotal -= this.sizes[count];
      count++;
    }
    if (count > 0) {
      this.lastIndexes.splice(0, count);
      this.sizes.splice(0, count);
    }
  }

  /** Frees the oldest in-flight message (it may have been lost). */
  freeFirst(): void {
    if (this.lastIndexes.length === 0) return;
    this.bytesTotal -= this.sizes[0];
    this.lastIndexes.shift();
    this.sizes.shift();
  }

  full(): boolean {
    return (
      this.lastIndexes.length >= this.maxMessages || (this.maxBytes > 0 && this.bytesTotal >= this.maxBytes)
    );
  }

  count(): number {
    return this.lastIndexes.length;
  }

  bytes(): number {
    return this.bytesTotal;
  }

  reset(): void {
    this.lastIndexes.length = 0;
    this.sizes.length = 0;
    this.bytesTotal = 0;
  }
}

export class Progress {
  /** Highest index known to be replicated on the follower. */
  match = 0;
  /** Next index to send. */
  next: number;
  state = ProgressState.Probe;
  /** In probe state: one append was sent since the last heartbeat; wait before sending another. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum (thesis §6.2). */
  recentActive = false;
  readonly inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, maxInflightMessages: number, maxInflightBytes: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMessages, maxInflightBytes);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // Coming back from a snapshot, the follower has at least the snapshot's entries.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged up to `index`. Returns false if the ack is stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Optimistically advance `next` after sending entries up to `lastIndex` (pipelining). */
  sentEntries(lastIndex: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (lastIndex >= this.next) {
        this.inflights.add(lastIndex, bytes);
        this.next = lastIndex + 1;
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an append at `rejected`, hinting `matchHint`. Returns false if the
   * rejection is stale (from an earlier probe or pipelined message).
   */
  maybeDecreaseTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false; // stale: we already know it matches beyond that
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false; // not the probe we are waiting for
    this.next = Math.max(Math.min(rejected, matchHint + 1), 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader should hold off sending appends (flow control). */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
