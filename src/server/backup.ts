// Backups: what `etcdctl snapshot save` downloads from Flotilla, and what `flotilla snapshot
// restore` turns into the data directory of a new cluster. Layout:
//   "FLOTBKP1" | u64 length | snapshot encoding (members + MVCC store) | zero padding | SHA-256
// etcd appends a SHA-256 to its db file and etcdctl checks that the rest is whole 512-byte
// pages, so the body is padded to a multiple of 512; a truncated or corrupted download is
// detected before anything is restored.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MvccStore } from '../mvcc/store.js';
import { NONE } from '../raft/types.js';
import { NodeDisk } from '../storage/disk.js';
import { SnapshotStore } from '../storage/snapshot-file.js';
import { WalLogStore } from '../storage/wal-log-store.js';
import type { ServerConfig } from './config.js';
import { clusterIdFor, memberIdFor } from './ids.js';
import { MemberTable } from './members.js';
import { decodeSnapshotData, encodeSnapshotData } from './snapshot-data.js';

const SHA256_BYTES = 32;
const MAGIC = Buffer.from('FLOTBKP1');
const PAGE_BYTES = 512;

export class BackupError extends Error {
  constructor(file: string, reason: string) {
    super(`backup ${file}: ${reason}`);
    this.name = 'BackupError';
  }
}

export function sealBackup(snapshot: Uint8Array): Buffer {
  const headerBytes = MAGIC.length + 8;
  const bodyBytes = Math.ceil((headerBytes + snapshot.byteLength) / PAGE_BYTES) * PAGE_BYTES;
  const body = Buffer.alloc(bodyBytes);
  MAGIC.copy(body, 0);
  body.writeBigUInt64BE(BigInt(snapshot.byteLength), MAGIC.length);
  body.set(snapshot, headerBytes);
  const digest = createHash('sha256').update(body).digest();
  return Buffer.concat([body, digest]);
}

export function openBackup(file: string): Uint8Array {
  const bytes = readFileSync(file);
  if (bytes.length <= SHA256_BYTES) throw new BackupError(file, 'too short to be a Flotilla backup');
  const body = bytes.subarray(0, bytes.length - SHA256_BYTES);
  const expected = bytes.subarray(bytes.length - SHA256_BYTES);
  const actual = createHash('sha256').update(body).digest();
  if (!actual.equals(expected))
    throw new BackupError(file, 'SHA-256 mismatch: the file is truncated or corrupted');
  if (!body.subarray(0, MAGIC.length).equals(MAGIC)) throw new BackupError(file, 'not a Flotilla backup');
  const length = Number(body.readBigUInt64BE(MAGIC.length));
  const start = MAGIC.length + 8;
  if (start + length > body.length) throw new BackupError(file, 'length field beyond the end of the file');
  return body.subarray(start, start + length);
}

/**
 * Writes a data directory for member `config.name` of a NEW cluster (from --initial-cluster)
 * holding the backup's keys, revisions and leases. Every member of the new cluster is restored
 * from the same file. The new cluster's log starts right after the backup's applied index.
 */
export async function restoreBackup(file: string, config: ServerConfig): Promise<{ appliedIndex: number }> {
  const data = decodeSnapshotData(openBackup(file));
  if (data.mvcc === null) throw new BackupError(file, 'holds no key-value data');
  const memberDir = join(config.dataDir, 'member');
  mkdirSync(memberDir, { recursive: true });
  const members = config.initialCluster.map((m) => ({
    id: memberIdFor([m.peerUrl], config.initialClusterToken),
    name: m.name,
    peerUrls: [m.peerUrl],
    clientUrls: [],
    isLearner: false,
  }));
  const mvcc = MvccStore.open({ path: join(memberDir, 'db') });
  if (mvcc.currentRevision() > 1 || mvcc.appliedIndex() > 0) {
    await mvcc.close();
    throw new BackupError(file, `data dir ${config.dataDir} is not empty`);
  }
  mvcc.restore(data.mvcc);
  const appliedIndex = Math.max(1, mvcc.appliedIndex());
  await mvcc.close();
  const disk = new NodeDisk();
  const store = WalLogStore.open({
    disk,
    walDir: join(memberDir, 'wal'),
    snapshots: new SnapshotStore({ disk, dir: join(memberDir, 'snap') }),
    clusterId: clusterIdFor(members.map((m) => m.id)),
    groupId: 0,
  });
  store.applySnapshot({
    metadata: { index: appliedIndex, term: 1, confState: { voters: members.map((m) => m.id), learners: [] } },
    // The snapshot carries the data too, so a member added later can be sent it.
    data: encodeSnapshotData({
      members: new MemberTable(members).toJSON(),
      mvcc: data.mvcc,
      auth: data.auth,
    }),
  });
  store.save({ term: 1, vote: NONE, commit: appliedIndex }, []);
  store.sync();
  store.close();
  return { appliedIndex };
}
