// A token bucket: `ratePerSecond` requests a second on average, bursts of up to `ratePerSecond`.
// Time comes from the caller (milliseconds on any monotonic clock), so the bucket is testable
// without waiting and never reads a clock itself.

import { assert } from '../../raft/assert.js';

export class TokenBucket {
  private tokens: number;
  private lastRefillMs: number | undefined;

  constructor(private readonly ratePerSecond: number) {
    assert(Number.isSafeInteger(ratePerSecond) && ratePerSecond > 0, 'token bucket rate must be positive');
    this.tokens = ratePerSecond;
  }

  /** Takes one token if there is one; false means the caller is over the rate. */
  tryTake(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(nowMs: number): void {
    const last = this.lastRefillMs ?? nowMs;
    // A clock that steps back must not mint tokens when it comes forward again.
    const elapsedMs = Math.max(0, nowMs - last);
    this.lastRefillMs = Math.max(last, nowMs);
    this.tokens = Math.min(this.ratePerSecond, this.tokens + (elapsedMs * this.ratePerSecond) / 1000);
  }
}
