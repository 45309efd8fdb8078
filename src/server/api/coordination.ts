// Shared machinery of the Lock and Election services (etcd's v3lock and v3election, which run
// clientv3/concurrency inside the server): ownership is the key with the lowest create revision
// under a prefix, and a waiter waits for every older key to be deleted.

import { AuthError } from '../../auth/errors.js';
import type { Need } from '../../auth/permissions.js';
import type { KeyValue, TxnResponse } from '../../mvcc/types.js';
import { SortOrder, SortTarget } from '../../mvcc/types.js';
import type { FlotillaNode } from '../node.js';
import type { CallMetadata } from './authorize.js';
import { requireKeys } from './authorize.js';
import { GrpcError, Status } from './errors.js';

export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** `${prefix}/${lease as hex}`, as clientv3/concurrency names a session's key. */
export function sessionKey(name: Uint8Array, lease: bigint): Buffer {
  return Buffer.concat([Buffer.from(name), Buffer.from(`/${lease.toString(16)}`)]);
}

/**
 * What a lock or election call needs with auth on: etcd runs these services as clients of its own
 * KV API with the caller's token, so the caller needs read on the `name/` prefix (to find the
 * owner and wait) and write on the keys it creates, changes or deletes.
 */
export function coordinationNeeds(name: Uint8Array, writes: readonly Uint8Array[]): Need[] {
  const prefix = Buffer.concat([Buffer.from(name), Buffer.from('/')]);
  const empty = new Uint8Array(0);
  return [
    { access: 'read', key: prefix, rangeEnd: prefixEnd(prefix) },
    ...writes.map((key): Need => ({ access: 'write', key, rangeEnd: empty })),
  ];
}

/**
 * Throws unless the caller may do `needs` (see coordinationNeeds). etcd's
 * v3lock and v3election pass the KV error on as a plain Go error, so clients see gRPC code
 * Unknown with the message ("etcdserver: permission denied"); Flotilla answers the same.
 */
export function requireCoordination(
  node: FlotillaNode,
  metadata: CallMetadata,
  needs: readonly Need[],
): string | null {
  try {
    return requireKeys(node, metadata, needs);
  } catch (error) {
    return asCoordinationError(error);
  }
}

/** An auth refusal as etcd's v3lock and v3election return it (code Unknown); other errors as they are. */
export function asCoordinationError(error: unknown): never {
  if (error instanceof AuthError) throw new GrpcError(Status.UNKNOWN, error.message);
  throw error;
}

/** Proposes a txn for `caller` (checked again at apply while auth is enabled, see node.ts). */
export async function txn(
  node: FlotillaNode,
  request: Parameters<FlotillaNode['mvcc']['readTxn']>[0],
  caller: string | null,
): Promise<TxnResponse> {
  const result = await node.propose({ type: 'txn', txn: request }, caller).catch(asCoordinationError);
  if (result.status === 'failed') throw result.error;
  if (result.status !== 'applied' || result.response.type !== 'txn') {
    throw new GrpcError(Status.INTERNAL, 'flotilla: unexpected txn result');
  }
  return result.response.txn;
}

/** The owner: the key under `prefix/` with the lowest create revision (clientv3 WithFirstCreate). */
export async function firstCreated(node: FlotillaNode, name: Uint8Array): Promise<KeyValue | undefined> {
  await node.linearizableRead();
  const prefix = Buffer.concat([Buffer.from(name), Buffer.from('/')]);
  const range = node.mvcc.range({
    key: prefix,
    rangeEnd: prefixEnd(prefix),
    sortOrder: SortOrder.ASCEND,
    sortTarget: SortTarget.CREATE,
    limit: 1,
  });
  return range.kvs[0];
}

/**
 * Waits until no key under `prefix/` has a create revision ≤ `maxCreateRevision` (clientv3's
 * waitDeletes). Re-checks after each applied batch that deleted something under the prefix.
 * `cancelled` lets a gRPC cancellation end the wait.
 */
export async function waitDeletes(
  node: FlotillaNode,
  name: Uint8Array,
  maxCreateRevision: number,
  cancelled: () => boolean,
): Promise<void> {
  const prefix = Buffer.concat([Buffer.from(name), Buffer.from('/')]);
  const end = prefixEnd(prefix);
  // Not countOnly: like etcd, `count` ignores the create-revision filter (it would count our own
  // key and never let us go — found by the fault lab's lock workload); the filtered kvs do not.
  const olderExists = () =>
    node.mvcc.range({ key: prefix, rangeEnd: end, maxCreateRevision, limit: 1, keysOnly: true }).kvs.length >
    0;
  await node.linearizableRead();
  if (!olderExists()) return;
  await new Promise<void>((resolve, reject) => {
    const unsubscribe = node.onApplied(() => {
      if (cancelled()) {
        unsubscribe();
        reject(new GrpcError(Status.CANCELLED, 'context canceled'));
        return;
      }
      if (olderExists()) return;
      unsubscribe();
      resolve();
    });
  });
}
