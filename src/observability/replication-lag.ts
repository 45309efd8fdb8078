// Replication lag in time, as the leader sees it: how long ago the leader appended the oldest entry
// a follower has not yet acknowledged. The leader records, once per persisted batch, the batch's
// last index and the time; a follower with match index m lags by the age of the first batch whose
// last index is above m. Fixed-size ring of typed arrays: no allocation per batch.

import { strict as assert } from 'node:assert';

/** Batches remembered; older ones are dropped and the lag of a follower behind them is a lower bound. */
export const LAG_HISTORY_BATCHES = 4096;

export class ReplicationLagClock {
  private readonly lastIndexes = new Float64Array(LAG_HISTORY_BATCHES);
  private readonly appendedAtMs = new Float64Array(LAG_HISTORY_BATCHES);
  /** Ring position of the oldest batch and number of batches held. */
  private head = 0;
  private count = 0;

  /** Forget everything: a new leader term starts its own history. */
  reset(lastIndex: number, nowMs: number): void {
    this.head = 0;
    this.count = 0;
    this.appended(lastIndex, nowMs);
  }

  /** The leader appended entries up to `lastIndex` at `nowMs`. */
  appended(lastIndex: number, nowMs: number): void {
    if (this.count > 0) {
      const newest = this.lastIndexes[(this.head + this.count - 1) % LAG_HISTORY_BATCHES];
      // A leader's log only grows within its term; equal means nothing new to time.
      if (lastIndex <= newest) return;
    }
    const slot = (this.head + this.count) % LAG_HISTORY_BATCHES;
    this.lastIndexes[slot] = lastIndex;
    this.appendedAtMs[slot] = nowMs;
    if (this.count < LAG_HISTORY_BATCHES) this.count++;
    else this.head = (this.head + 1) % LAG_HISTORY_BATCHES;
  }

  /** Seconds since the leader appended entry `matchIndex + 1`; 0 if the follower has everything. */
  lagSeconds(matchIndex: number, leaderLastIndex: number, nowMs: number): number {
    if (matchIndex >= leaderLastIndex || this.count === 0) return 0;
    // Binary search for the first batch with lastIndex > matchIndex (lastIndexes grow along the ring).
    let lo = 0;
    let hi = this.count - 1;
    if (this.at(hi) <= matchIndex) return 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid) > matchIndex) hi = mid;
      else lo = mid + 1;
    }
    const appendedAt = this.appendedAtMs[(this.head + lo) % LAG_HISTORY_BATCHES];
    assert.ok(appendedAt <= nowMs + 1, 'lag clock went back in time');
    return Math.max(0, nowMs - appendedAt) / 1000;
  }

  private at(position: number): number {
    return this.lastIndexes[(this.head + position) % LAG_HISTORY_BATCHES];
  }
}
