// The lease table: etcd's "lease" bucket (leasepb.Lease {ID, TTL, RemainingTTL}), kept in the
// same LMDB environment as the key space so a grant, revoke or checkpoint commits in the same
// transaction as the applied index. Expiry is NOT stored: it is wall-clock state that only the
// leader's lessor (src/lease) keeps; replicas agree only on what is written here.
//
//   key:   lease id (i64 BE)
//   value: granted TTL seconds (i64 BE) ++ checkpointed remaining TTL seconds (i64 BE, 0 = none)

import { assert } from '../raft/assert.js';
import { LeaseExistsError, LeaseNotFoundError, LeaseTtlTooLargeError } from './errors.js';
import { LEASE_ID_BYTES } from './keys.js';
import type { Tables } from './tables.js';
import type { LeaseCheckpointRequest, LeaseGrantRequest, LeaseRecord } from './types.js';

const RECORD_BYTES = 16;

/** etcd's lease.MaxLeaseTTL: 9,000,000,000 seconds. */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

function leaseKey(id: bigint): Buffer {
  const out = Buffer.allocUnsafe(LEASE_ID_BYTES);
  out.writeBigInt64BE(id, 0);
  return out;
}

function encodeLease(ttlSeconds: number, remainingTtlSeconds: number): Buffer {
  const out = Buffer.allocUnsafe(RECORD_BYTES);
  out.writeBigInt64BE(BigInt(ttlSeconds), 0);
  out.writeBigInt64BE(BigInt(remainingTtlSeconds), 8);
  return out;
}

function decodeLease(key: Buffer, value: Buffer): LeaseRecord {
  assert(key.length === LEASE_ID_BYTES && value.length === RECORD_BYTES, 'malformed lease record');
  return {
    id: key.readBigInt64BE(0),
    ttlSeconds: Number(value.readBigInt64BE(0)),
    remainingTtlSeconds: Number(value.readBigInt64BE(8)),
  };
}

export function getLease(tables: Tables, id: bigint): LeaseRecord | undefined {
  const key = leaseKey(id);
  const value = tables.leaseRecords.get(key);
  return value === undefined ? undefined : decodeLease(key, value);
}

export function* listLeases(tables: Tables): Generator<LeaseRecord> {
  for (const { key, value } of tables.leaseRecords.getRange({})) yield decodeLease(key, value);
}

/**
 * etcd's lessor.Grant on apply. Id 0 never reaches apply (the proposer picks an id first, so
 * every replica applies the same one); etcd's lessor answers it with "lease not found".
 */
export function applyLeaseGrant(tables: Tables, r: LeaseGrantRequest): void {
  if (r.id === 0n) throw new LeaseNotFoundError();
  if (r.ttlSeconds > MAX_LEASE_TTL_SECONDS) throw new LeaseTtlTooLargeError();
  assert(Number.isSafeInteger(r.ttlSeconds), 'lease TTL must be an integer');
  const key = leaseKey(r.id);
  if (tables.leaseRecords.get(key) !== undefined) throw new LeaseExistsError();
  tables.leaseRecords.putSync(key, encodeLease(r.ttlSeconds, 0));
}

/** Removes the lease record; false if there was none. */
export function removeLease(tables: Tables, id: bigint): boolean {
  return tables.leaseRecords.removeSync(leaseKey(id));
}

/**
 * etcd's lessor.Checkpoint, persisted: a lease that no longer exists is skipped (it was revoked
 * after the leader proposed the checkpoint). Remaining 0 clears the checkpoint.
 */
export function applyLeaseCheckpoint(tables: Tables, r: LeaseCheckpointRequest): void {
  for (const checkpoint of r.checkpoints) {
    assert(
      Number.isSafeInteger(checkpoint.remainingTtlSeconds) && checkpoint.remainingTtlSeconds >= 0,
      'checkpointed TTL must be a non-negative integer',
    );
    const existing = getLease(tables, checkpoint.id);
    if (existing === undefined) continue;
    tables.leaseRecords.putSync(
      leaseKey(checkpoint.id),
      encodeLease(existing.ttlSeconds, checkpoint.remainingTtlSeconds),
    );
  }
}
