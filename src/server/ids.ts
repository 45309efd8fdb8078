// Member and cluster ids, computed the way etcd computes them, so a cluster configured the same
// way gets the same kind of ids (random-looking uint64s) and a member can be named by URL.

import { createHash } from 'node:crypto';

/** etcd's membership.computeMemberId: sha1(sorted peer URLs joined + cluster token)[0:8]. */
export function memberIdFor(peerUrls: readonly string[], clusterToken: string): bigint {
  const joined = [...peerUrls].sort().join('') + clusterToken;
  return createHash('sha1').update(joined).digest().readBigUInt64BE(0);
}

/** etcd's RaftCluster.genID: sha1 over the sorted member ids as 8-byte big-endian values. */
export function clusterIdFor(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const bytes = Buffer.alloc(8 * sorted.length);
  for (let i = 0; i < sorted.length; i++) bytes.writeBigUInt64BE(sorted[i], i * 8);
  return createHash('sha1').update(bytes).digest().readBigUInt64BE(0);
}

export function hexId(id: bigint): string {
  return id.toString(16);
}
