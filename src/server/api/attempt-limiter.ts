// Limits password checks per client (etcd has no such limit). Each check costs a bcrypt
// verification (tens of milliseconds of CPU at the default cost), so without a limit one client
// could guess passwords as fast as the member's thread pool hashes, and starve everyone else's.
// A token bucket per client address: `perSecond` attempts a second, bursts up to the same number.

import { TokenBucket } from './rate-limit.js';

/** Clients tracked at once; past it the longest-idle is forgotten (its bucket refills anyway). */
const CLIENTS_TRACKED_MAX = 10_000;

export class AttemptLimiter {
  /** In least-recently-used order: a touched bucket moves to the end. */
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(readonly perSecond: number) {}

  /** Takes one attempt for `client`; false when its budget is spent. */
  tryAttempt(client: string, nowMs: number): boolean {
    const bucket = this.buckets.get(client) ?? new TokenBucket(this.perSecond);
    this.buckets.delete(client);
    this.buckets.set(client, bucket);
    if (this.buckets.size > CLIENTS_TRACKED_MAX) {
      const idlest = this.buckets.keys().next().value;
      if (idlest !== undefined) this.buckets.delete(idlest);
    }
    return bucket.tryTake(nowMs);
  }
}
