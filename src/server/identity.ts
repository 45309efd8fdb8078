// Who a member is, decided once on first start and kept in member/identity.json, and how a new
// cluster's log begins. A new cluster computes ids from --initial-cluster as etcd does; a member
// joining an existing cluster asks a running member (a discovery hello on its peer port).

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type tls from 'node:tls';
import { NONE, type NodeId } from '../raft/types.js';
import type { WalLogStore } from '../storage/wal-log-store.js';
import { probeCluster } from '../transport/discovery.js';
import { ConfigError, type ServerConfig } from './config.js';
import { clusterIdFor, hexId, memberIdFor } from './ids.js';
import { type Member, MemberTable } from './members.js';
import type { NodeLogger } from './node.js';
import { encodeSnapshotData } from './snapshot-data.js';

/** Where a peer URL points; `secure` for https://, which is dialled with TLS. */
export function peerAddress(url: string): { host: string; port: number; secure: boolean } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port), secure: parsed.protocol === 'https:' };
}

/** How long a joining member waits for each existing member to say which cluster it is. */
const DISCOVERY_TIMEOUT_MS = 3_000;

export interface Identity {
  readonly memberId: NodeId;
  readonly clusterId: bigint;
  /** Members to bootstrap a new cluster with (state 'new', first start only). */
  readonly bootstrap: Member[] | null;
  /** Members learned from a running member (state 'existing', first start only). */
  readonly discovered: Member[];
}

/**
 * Who this member is. Decided once, on first start, and kept in member/identity.json: a new
 * cluster computes ids from --initial-cluster as etcd does; a member joining an existing cluster
 * (after `member add`) asks the running members for the cluster id and finds itself by peer URL.
 */
export async function resolveIdentity(
  config: ServerConfig,
  memberDir: string,
  logger: NodeLogger,
  peerDial: tls.ConnectionOptions,
): Promise<Identity> {
  const file = join(memberDir, 'identity.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { memberId: string; clusterId: string };
    const memberId = BigInt(saved.memberId);
    const clusterId = BigInt(saved.clusterId);
    if (config.initialClusterState === 'new') {
      // A data dir copied from elsewhere, or flags pointing at the wrong dir: refuse loudly. Only
      // the member id is compared: after membership changes an operator restarts members with an
      // updated --initial-cluster (which, as in etcd, is otherwise ignored once the data exists),
      // and that changes the id a *new* cluster would get, not this member's own.
      const expected = newClusterIdentity(config);
      if (expected.memberId !== memberId) {
        throw new ConfigError(
          `data dir ${config.dataDir} belongs to member ${hexId(memberId)} of cluster ${hexId(clusterId)}, ` +
            `but --name/--initial-cluster describe member ${hexId(expected.memberId)} of cluster ${hexId(expected.clusterId)}`,
        );
      }
    }
    return { memberId, clusterId, bootstrap: null, discovered: [] };
  }
  const identity =
    config.initialClusterState === 'new'
      ? newClusterIdentity(config)
      : await discoverIdentity(config, logger, peerDial);
  const temporary = `${file}.tmp`;
  writeFileSync(
    temporary,
    JSON.stringify({ memberId: identity.memberId.toString(), clusterId: identity.clusterId.toString() }),
  );
  renameSync(temporary, file);
  return identity;
}

function newClusterIdentity(config: ServerConfig): Identity {
  const members: Member[] = config.initialCluster.map((m) => ({
    id: memberIdFor([m.peerUrl], config.initialClusterToken),
    name: m.name,
    peerUrls: [m.peerUrl],
    clientUrls: [],
    isLearner: false,
  }));
  return {
    memberId: memberIdFor(config.initialAdvertisePeerUrls, config.initialClusterToken),
    clusterId: clusterIdFor(members.map((m) => m.id)),
    bootstrap: members,
    discovered: [],
  };
}

async function discoverIdentity(
  config: ServerConfig,
  logger: NodeLogger,
  peerDial: tls.ConnectionOptions,
): Promise<Identity> {
  const own = new Set(config.initialAdvertisePeerUrls);
  const errors: string[] = [];
  for (const { peerUrl } of config.initialCluster) {
    if (own.has(peerUrl)) continue;
    const { host, port, secure } = peerAddress(peerUrl);
    try {
      const info = await probeCluster(host, port, DISCOVERY_TIMEOUT_MS, secure ? peerDial : null);
      const self = info.members.find((m) => m.peerUrls.some((url) => own.has(url)));
      if (self === undefined) {
        throw new ConfigError(
          `the cluster at ${peerUrl} has no member with peer URL ${[...own].join(',')}: add it first (etcdctl member add)`,
        );
      }
      logger.info('joining an existing cluster', { cluster: hexId(info.clusterId), member: hexId(self.id) });
      const discovered = info.members.map((m) => ({
        id: m.id,
        name: '',
        peerUrls: m.peerUrls,
        clientUrls: [],
        isLearner: false,
      }));
      return { memberId: self.id, clusterId: info.clusterId, bootstrap: null, discovered };
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      errors.push(`${peerUrl}: ${(error as Error).message}`);
    }
  }
  throw new ConfigError(
    `--initial-cluster-state existing: no running member answered (${errors.join('; ')})`,
  );
}

/** A new cluster starts from a snapshot at index 1 that names every initial member. */
export function bootstrap(store: WalLogStore, members: readonly Member[]): void {
  const table = new MemberTable(members);
  store.applySnapshot({
    metadata: { index: 1, term: 1, confState: { voters: members.map((m) => m.id), learners: [] } },
    data: encodeSnapshotData({ members: table.toJSON(), mvcc: null }),
  });
  store.save({ term: 1, vote: NONE, commit: 1 }, []);
  store.sync();
}
