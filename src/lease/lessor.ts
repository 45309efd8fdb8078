// The lessor (etcd lease/lessor.go): the in-memory view of the lease table plus what only the
// leader knows — when each lease expires. Replicas agree on the table (grants, revokes and
// checkpoints go through Raft and are applied by mvcc); expiry is wall-clock state of the
// leader alone. Followers hold every lease "forever" and make no expiry decisions; a new
// leader restarts each lease's clock from its checkpointed remaining TTL (or its full TTL).
//
// The lessor never proposes anything itself: the server asks it what to propose
// (prepareGrant, expiredLeases, checkpointsDue, keepAlive's clearing checkpoint) and reports
// every applied lease request back through applied().

import {
  type ApplyRequest,
  type ApplyResult,
  type LeaseCheckpoint,
  LeaseExistsError,
  LeaseNotFoundError,
  type LeaseRecord,
  LeaseTtlTooLargeError,
  MAX_LEASE_TTL_SECONDS,
} from '../mvcc/index.js';
import { assert } from '../raft/assert.js';
import type { Rng } from '../raft/rng.js';
import { LeaseHeap } from './heap.js';

/** The part of MvccStore the lessor reads. */
export interface LeaseTable {
  leaseRecords(): LeaseRecord[];
  lease(id: bigint): LeaseRecord | undefined;
  keysWithLease(id: bigint): Uint8Array[];
}

export interface Clock {
  /** Milliseconds; only differences matter (a monotonic clock is best). */
  now(): number;
}

export interface LessorOptions {
  readonly table: LeaseTable;
  readonly clock: Clock;
  readonly rng: Rng;
  /** etcd's minLeaseTTL: about 1.5 x the election timeout, so a lease outlives a leader change. */
  readonly minTtlSeconds: number;
  /** etcd leaseRevokeRate. */
  readonly maxRevokesPerSecond?: number;
  /** etcd --experimental-lease-checkpoint-interval (default 5 minutes). */
  readonly checkpointIntervalMs?: number;
  /** etcd maxLeaseCheckpointBatchSize. */
  readonly maxCheckpointsPerBatch?: number;
  /** etcd expiredLeaseRetryInterval: an expired lease is offered again if its revoke got lost. */
  readonly expiredLeaseRetryMs?: number;
}

export const DEFAULT_MAX_REVOKES_PER_SECOND = 1000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5 * 60 * 1000;
export const DEFAULT_MAX_CHECKPOINTS_PER_BATCH = 1000;
export const DEFAULT_EXPIRED_LEASE_RETRY_MS = 3000;
/** Attempts at drawing a random lease id that is not in use. */
const MAX_ID_ATTEMPTS = 16;

/** lease.ErrNotPrimary: only the leader renews leases; a follower forwards the request. */
export class LessorNotPrimaryError extends Error {
  constructor() {
    super('not a primary lessor');
    this.name = 'LessorNotPrimaryError';
  }
}

export type KeepAliveResult =
  | {
      readonly status: 'renewed';
      readonly ttlSeconds: number;
      /**
       * Propose this (remaining TTL 0) right away: etcd clears a checkpointed TTL on renewal,
       * or a new leader would restart the lease from the stale, shorter remaining TTL.
       */
      readonly clearCheckpoint: LeaseCheckpoint | undefined;
    }
  /** Expired and waiting for its revoke (etcd Renew waits for it, then answers "not found"). */
  | { readonly status: 'expired' };

/** LeaseTimeToLiveResponse without its header (int64 fields as decimal strings). */
export interface LeaseTimeToLiveMessage {
  readonly ID: string;
  readonly TTL: string;
  readonly grantedTTL: string;
  readonly keys: Buffer[];
}

/** LeaseLeasesResponse without its header. */
export interface LeaseLeasesMessage {
  readonly leases: { readonly ID: string }[];
}

interface LeaseState {
  readonly id: bigint;
  readonly ttlSeconds: number;
  remainingTtlSeconds: number;
  /** Infinity on followers (etcd Lease.forever). */
  expiryMs: number;
  /** The time of this lease's live entry in the expiry heap (later than expiryMs while a revoke is in flight). */
  expiryQueueMs: number;
  /** The time of this lease's live entry in the checkpoint heap. */
  checkpointQueueMs: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new RangeError(`lessor: ${name} must be a positive integer, got ${v}`);
  return v;
}

export class Lessor {
  private readonly table: LeaseTable;
  private readonly clock: Clock;
  private readonly rng: Rng;
  readonly minTtlSeconds: number;
  readonly maxRevokesPerSecond: number;
  readonly checkpointIntervalMs: number;
  readonly maxCheckpointsPerBatch: number;
  readonly expiredLeaseRetryMs: number;
  private readonly leaseMap = new Map<bigint, LeaseState>();
  private readonly expiryQueue = new LeaseHeap();
  private readonly checkpointQueue = new LeaseHeap();
  private primary = false;
  private revokeTokens = 0;
  private revokeTokensAtMs = 0;

  constructor(options: LessorOptions) {
    this.table = options.table;
    this.clock = options.clock;
    this.rng = options.rng;
    this.minTtlSeconds = positiveInteger('minTtlSeconds', options.minTtlSeconds, 0);
    this.maxRevokesPerSecond = positiveInteger(
      'maxRevokesPerSecond',
      options.maxRevokesPerSecond,
      DEFAULT_MAX_REVOKES_PER_SECOND,
    );
    this.checkpointIntervalMs = positiveInteger(
      'checkpointIntervalMs',
      options.checkpointIntervalMs,
      DEFAULT_CHECKPOINT_INTERVAL_MS,
    );
    this.maxCheckpointsPerBatch = positiveInteger(
      'maxCheckpointsPerBatch',
      options.maxCheckpointsPerBatch,
      DEFAULT_MAX_CHECKPOINTS_PER_BATCH,
    );
    this.expiredLeaseRetryMs = positiveInteger(
      'expiredLeaseRetryMs',
      options.expiredLeaseRetryMs,
      DEFAULT_EXPIRED_LEASE_RETRY_MS,
    );
    this.rebuild();
  }

  /**
   * Reloads every lease from the table (startup, and after a snapshot was restored). The
   * lessor comes back as a follower: call promote() if this node leads.
   */
  rebuild(): void {
    this.demote();
    this.leaseMap.clear();
    for (const record of this.table.leaseRecords()) this.addLease(record);
  }

  isPrimary(): boolean {
    return this.primary;
  }

  /** Number of leases held. */
  size(): number {
    return this.leaseMap.size;
  }

  /**
   * This node became leader (etcd Promote): every lease expires `extendMs` plus its remaining
   * TTL from now — the checkpointed remaining TTL if there is one, else the full TTL.
   * etcd also spreads out leases whose expiries pile up beyond the revoke rate; we do not
   * (expiredLeases is rate limited instead).
   */
  promote(nowMs: number, extendMs = 0): void {
    this.primary = true;
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
    for (const lease of this.leaseMap.values()) {
      this.setExpiry(lease, nowMs + extendMs + effectiveTtlSeconds(lease) * 1000);
      this.scheduleCheckpoint(lease, nowMs);
    }
    this.revokeTokens = this.maxRevokesPerSecond;
    this.revokeTokensAtMs = nowMs;
  }

  /** This node stopped leading (etcd Demote): no expiry decisions until promoted again. */
  demote(): void {
    this.primary = false;
    for (const lease of this.leaseMap.values()) {
      lease.expiryMs = Number.POSITIVE_INFINITY;
      lease.expiryQueueMs = Number.POSITIVE_INFINITY;
      lease.checkpointQueueMs = Number.POSITIVE_INFINITY;
    }
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
  }

  /**
   * Validates a LeaseGrant and fills in what must be decided BEFORE proposing, so every replica
   * applies the same thing: the id (id 0: a random positive int64 from the injected Rng) and the
   * TTL (raised to minTtlSeconds; etcd raises it at apply, with the same visible result).
   */
  prepareGrant(
    ttlSeconds: bigint,
    requestedId: bigint,
  ): { readonly id: bigint; readonly ttlSeconds: number } {
    if (ttlSeconds > BigInt(MAX_LEASE_TTL_SECONDS)) throw new LeaseTtlTooLargeError();
    const ttl = ttlSeconds < BigInt(this.minTtlSeconds) ? this.minTtlSeconds : Number(ttlSeconds);
    if (requestedId !== 0n) {
      if (this.leaseMap.has(requestedId)) throw new LeaseExistsError();
      return { id: requestedId, ttlSeconds: ttl };
    }
    for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
      const id = this.randomId();
      if (id !== 0n && !this.leaseMap.has(id)) return { id, ttlSeconds: ttl };
    }
    throw new Error('lessor: could not draw an unused lease id');
  }

  /** Reports one applied entry; only lease requests that were applied change the lessor. */
  applied(request: ApplyRequest, result: ApplyResult): void {
    if (result.status !== 'applied') return;
    switch (request.type) {
      case 'leaseGrant': {
        const record = { ...request.leaseGrant, remainingTtlSeconds: 0 };
        const lease = this.addLease(record);
        if (this.primary) {
          const nowMs = this.clock.now();
          this.setExpiry(lease, nowMs + lease.ttlSeconds * 1000);
          this.scheduleCheckpoint(lease, nowMs);
        }
        break;
      }
      case 'leaseRevoke':
        this.leaseMap.delete(request.leaseId);
        break;
      case 'leaseCheckpoint':
        for (const checkpoint of request.leaseCheckpoint.checkpoints) {
          const lease = this.leaseMap.get(checkpoint.id);
          // Only the stored remaining TTL changes; promote() is what applies it (etcd Checkpoint).
          if (lease !== undefined) lease.remainingTtlSeconds = checkpoint.remainingTtlSeconds;
        }
        break;
      default:
        break;
    }
  }

  /** Whether the lease is held (a follower answers puts and forwards keep-alives with this). */
  has(id: bigint): boolean {
    return this.leaseMap.has(id);
  }

  /**
   * etcd Renew, leader only: the lease expires a full TTL from now. Throws LessorNotPrimaryError
   * on a follower (the server forwards to the leader) and LeaseNotFoundError for an unknown id.
   */
  keepAlive(id: bigint, nowMs: number): KeepAliveResult {
    if (!this.primary) throw new LessorNotPrimaryError();
    const lease = this.leaseMap.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    if (lease.expiryMs <= nowMs) return { status: 'expired' };
    const clearCheckpoint = lease.remainingTtlSeconds > 0 ? { id, remainingTtlSeconds: 0 } : undefined;
    this.setExpiry(lease, nowMs + lease.ttlSeconds * 1000);
    return { status: 'renewed', ttlSeconds: lease.ttlSeconds, clearCheckpoint };
  }

  /**
   * Leases past their expiry that the leader should propose revokes for, at most `limit` and
   * at most maxRevokesPerSecond over time (a token bucket). A returned lease is offered again
   * after expiredLeaseRetryMs if it has not been revoked by then (the proposal may be lost).
   */
  expiredLeases(nowMs: number, limit: number): bigint[] {
    if (!this.primary) return [];
    const elapsedMs = Math.max(0, nowMs - this.revokeTokensAtMs);
    this.revokeTokens = Math.min(
      this.maxRevokesPerSecond,
      this.revokeTokens + (elapsedMs * this.maxRevokesPerSecond) / 1000,
    );
    this.revokeTokensAtMs = nowMs;
    const allowed = Math.min(limit, Math.floor(this.revokeTokens));
    const expired: bigint[] = [];
    while (expired.length < allowed) {
      const top = this.expiryQueue.peek();
      if (top === undefined || top.timeMs > nowMs) break;
      this.expiryQueue.pop();
      const lease = this.leaseMap.get(top.id);
      if (lease === undefined || lease.expiryQueueMs !== top.timeMs) continue; // stale entry
      expired.push(lease.id);
      lease.expiryQueueMs = nowMs + this.expiredLeaseRetryMs;
      this.expiryQueue.push({ id: lease.id, timeMs: lease.expiryQueueMs });
    }
    this.revokeTokens -= expired.length;
    return expired;
  }

  /**
   * Remaining TTLs the leader should persist now (etcd lease checkpointing), at most
   * maxCheckpointsPerBatch. Only leases whose TTL exceeds the checkpoint interval are
   * checkpointed (shorter ones lose at most their TTL on a leader change anyway), and a lease
   * with a full TTL left needs none.
   */
  checkpointsDue(nowMs: number): LeaseCheckpoint[] {
    if (!this.primary) return [];
    const due: LeaseCheckpoint[] = [];
    while (due.length < this.maxCheckpointsPerBatch) {
      const top = this.checkpointQueue.peek();
      if (top === undefined || top.timeMs > nowMs) break;
      this.checkpointQueue.pop();
      const lease = this.leaseMap.get(top.id);
      if (lease === undefined || lease.checkpointQueueMs !== top.timeMs) continue;
      this.scheduleCheckpoint(lease, nowMs);
      const remainingTtlSeconds = Math.ceil((lease.expiryMs - nowMs) / 1000);
      if (remainingTtlSeconds <= 0 || remainingTtlSeconds >= lease.ttlSeconds) continue;
      due.push({ id: lease.id, remainingTtlSeconds });
    }
    return due;
  }

  /**
   * LeaseTimeToLive: TTL -1 for an unknown lease (as the etcd server answers). The remaining
   * TTL is the leader's; on a follower it is the stored TTL, so the server should forward.
   */
  timeToLive(id: bigint, withKeys: boolean): LeaseTimeToLiveMessage {
    const lease = this.leaseMap.get(id);
    if (lease === undefined) return { ID: id.toString(), TTL: '-1', grantedTTL: '0', keys: [] };
    const remainingSeconds = this.primary
      ? Math.trunc((lease.expiryMs - this.clock.now()) / 1000)
      : effectiveTtlSeconds(lease);
    return {
      ID: id.toString(),
      TTL: String(remainingSeconds === 0 ? 0 : remainingSeconds),
      grantedTTL: String(lease.ttlSeconds),
      keys: withKeys ? this.table.keysWithLease(id).map((key) => Buffer.from(key)) : [],
    };
  }

  /** LeaseLeases: every lease, soonest expiry first (etcd sorts by expiry), then by id. */
  leases(): LeaseLeasesMessage {
    const all = [...this.leaseMap.values()];
    all.sort((a, b) => a.expiryMs - b.expiryMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { leases: all.map((lease) => ({ ID: lease.id.toString() })) };
  }

  // --- internals -------------------------------------------------------------------------------

  private addLease(record: LeaseRecord): LeaseState {
    assert(!this.leaseMap.has(record.id), 'lessor: lease applied twice');
    const lease: LeaseState = {
      id: record.id,
      ttlSeconds: record.ttlSeconds,
      remainingTtlSeconds: record.remainingTtlSeconds,
      expiryMs: Number.POSITIVE_INFINITY,
      expiryQueueMs: Number.POSITIVE_INFINITY,
      checkpointQueueMs: Number.POSITIVE_INFINITY,
    };
    this.leaseMap.set(record.id, lease);
    return lease;
  }

  private setExpiry(lease: LeaseState, expiryMs: number): void {
    lease.expiryMs = expiryMs;
    lease.expiryQueueMs = expiryMs;
    this.expiryQueue.push({ id: lease.id, timeMs: expiryMs });
  }

  private scheduleCheckpoint(lease: LeaseState, nowMs: number): void {
    if (lease.ttlSeconds * 1000 <= this.checkpointIntervalMs) return;
    lease.checkpointQueueMs = nowMs + this.checkpointIntervalMs;
    this.checkpointQueue.push({ id: lease.id, timeMs: lease.checkpointQueueMs });
  }

  /** A uniformly random int64 in [0, 2^63): three 21-bit draws. */
  private randomId(): bigint {
    const part = () => BigInt(this.rng.nextInt(1 << 21));
    return (part() << 42n) | (part() << 21n) | part();
  }
}

function effectiveTtlSeconds(lease: LeaseState): number {
  return lease.remainingTtlSeconds > 0 ? lease.remainingTtlSeconds : lease.ttlSeconds;
}
