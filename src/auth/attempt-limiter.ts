// Limits password checks per client (etcd has no such limit). Each check costs a bcrypt
// verification (tens of milliseconds of CPU at the default cost), so without a limit one client
// could guess passwords as fast as the member's thread pool hashes, and starve everyone else's.
// A token bucket per client address: `perSecond` attempts a second, bursts up to the same number.

/** Clients tracked at once; past it the longest-idle is forgotten (its bucket refills anyway). */
const CLIENTS_TRACKED_MAX = 10_000;

interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

export class AttemptLimiter {
  /** In least-recently-used order: a touched bucket moves to the end. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly perSecond: number) {
    if (!(perSecond > 0)) throw new Error(`AttemptLimiter: perSecond must be positive, got ${perSecond}`);
  }

  /** Takes one attempt for `client`; false when its budget is spent. */
  tryAttempt(client: string, nowMs: number): boolean {
    const bucket = this.buckets.get(client) ?? { tokens: this.perSecond, refilledAtMs: nowMs };
    this.buckets.delete(client);
    const refill = ((nowMs - bucket.refilledAtMs) / 1000) * this.perSecond;
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + Math.max(0, refill));
    bucket.refilledAtMs = nowMs;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(client, bucket);
    if (this.buckets.size > CLIENTS_TRACKED_MAX) {
      const idlest = this.buckets.keys().next().value;
      if (idlest !== undefined) this.buckets.delete(idlest);
    }
    return allowed;
  }
}
