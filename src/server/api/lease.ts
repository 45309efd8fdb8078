// etcdserverpb.Lease: grants and revokes go through Raft; keep-alive and time-to-live are the
// leader's to answer (it alone runs lease clocks), so followers forward them.

import { leaseKeysNeeds } from '../../auth/needs.js';
import { LeaseNotFoundError } from '../../mvcc/errors.js';
import type { FlotillaNode } from '../node.js';
import { requireKeys } from './authorize.js';
import { type HeaderSource, int64Id, type ProtoObject } from './convert.js';
import { ERR_TOO_MANY_REQUESTS, GrpcError, Status, toServiceError } from './errors.js';
import type { CallContext } from './grpc.js';
import type { LeaderProxy } from './leader-proxy.js';
import { TokenBucket } from './rate-limit.js';
import type { StreamCall } from './stream-call.js';

/** Storage a lease grant may take, for the quota check. */
const LEASE_GRANT_COST_BYTES = 64;

export function leaseService(node: FlotillaNode, headers: HeaderSource, proxy: LeaderProxy) {
  const header = () => headers.header(node.mvcc.currentRevision());
  // Every grant is a Raft entry and a lease the leader must track until it expires: a client
  // granting in a loop would otherwise fill the log and the lessor. Counted where it arrives.
  const grants = new TokenBucket(node.config.maxLeaseGrantsPerSecond);

  /** One keep-alive, answered here if we lead, else by the leader. Unknown leases get TTL 0 (etcd). */
  const keepAlive = async (request: ProtoObject): Promise<ProtoObject> => {
    const id = int64Id(request.ID);
    if (!node.isLeader()) return proxy.keepAlive(request);
    try {
      const result = node.lessor.keepAlive(id, performance.now());
      if (result.status === 'expired') return { header: header(), ID: id.toString(), TTL: '0' };
      if (result.clearCheckpoint !== undefined) {
        // A renewed lease must not be restarted later from its older checkpointed remainder.
        node
          .propose({ type: 'leaseCheckpoint', leaseCheckpoint: { checkpoints: [result.clearCheckpoint] } })
          .catch(() => undefined);
      }
      return { header: header(), ID: id.toString(), TTL: String(result.ttlSeconds) };
    } catch (error) {
      if (error instanceof LeaseNotFoundError) return { header: header(), ID: id.toString(), TTL: '0' };
      throw error;
    }
  };

  return {
    unary: {
      // Any user may grant a lease (etcd 3.4 checks nothing but the token).
      async LeaseGrant(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
        requireKeys(node, call.metadata, []);
        if (!grants.tryTake(performance.now())) {
          throw new GrpcError(Status.RESOURCE_EXHAUSTED, ERR_TOO_MANY_REQUESTS);
        }
        const ttl = BigInt((request.TTL as string) ?? '0');
        node.checkQuota(LEASE_GRANT_COST_BYTES);
        const { id, ttlSeconds } = node.lessor.prepareGrant(ttl, int64Id(request.ID));
        const result = await node.propose({ type: 'leaseGrant', leaseGrant: { id, ttlSeconds } });
        if (result.status === 'failed') throw result.error;
        return { header: header(), ID: id.toString(), TTL: String(ttlSeconds), error: '' };
      },

      /** Revoking deletes the lease's keys: it needs write permission on every one (etcd's checkLeasePuts). */
      async LeaseRevoke(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
        const leaseId = int64Id(request.ID);
        const keys = node.auth.isEnabled() ? node.mvcc.keysWithLease(leaseId) : [];
        requireKeys(node, call.metadata, leaseKeysNeeds(keys));
        const result = await node.propose({ type: 'leaseRevoke', leaseId });
        if (result.status === 'failed') throw result.error;
        return { header: header() };
      },

      async LeaseTimeToLive(request: ProtoObject): Promise<ProtoObject> {
        if (!node.isLeader()) return proxy.timeToLive(request);
        const answer = node.lessor.timeToLive(int64Id(request.ID), request.keys === true);
        return { header: header(), ...answer };
      },

      async LeaseLeases(): Promise<ProtoObject> {
        return { header: header(), ...node.lessor.leases() };
      },
    },

    LeaseKeepAlive(call: StreamCall): void {
      // Answer in order, one at a time, as etcd's keep-alive loop does.
      let chain = Promise.resolve();
      call.on('data', (request: ProtoObject) => {
        chain = chain.then(async () => {
          try {
            call.write(await keepAlive(request));
          } catch (error) {
            call.destroy(toServiceError(error));
          }
        });
      });
      call.on('end', () => {
        chain.then(() => call.end());
      });
      call.on('error', () => undefined); // the client went away; nothing to clean up
    },
  };
}
