// etcdserverpb.Maintenance: Status, HashKV, Alarm, Defragment, MoveLeader.

import { AuthError } from '../../auth/errors.js';
import { sealBackup } from '../backup.js';
import type { FlotillaNode } from '../node.js';
import type { CallMetadata } from './authorize.js';
import { requireAdmin } from './authorize.js';
import { type HeaderSource, int64, int64Id, type ProtoObject } from './convert.js';
import { GrpcError, Status, toServiceError } from './errors.js';
import type { CallContext } from './grpc.js';
import type { StreamCall } from './stream-call.js';

/** Bytes per SnapshotResponse message. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/** Maintenance.Snapshot: streams a backup (see backup.ts) in chunks, as etcdctl snapshot save expects. */
export function snapshotStream(node: FlotillaNode, headers: HeaderSource) {
  return (call: StreamCall): void => {
    try {
      requireMaintenanceAdmin(node, call.metadata);
    } catch (error) {
      call.destroy(toServiceError(error));
      return;
    }
    const backup = sealBackup(node.backup());
    const header = headers.header(node.mvcc.currentRevision());
    for (let offset = 0; offset < backup.length; offset += SNAPSHOT_CHUNK_BYTES) {
      const blob = backup.subarray(offset, offset + SNAPSHOT_CHUNK_BYTES);
      call.write({ header, remaining_bytes: String(backup.length - offset - blob.length), blob });
    }
    call.end();
  };
}

/**
 * etcd 3.4's authMaintenanceServer: Snapshot, Hash, HashKV and Defragment need the root role.
 * It returns the auth store's own errors untranslated, so clients see gRPC code Unknown and
 * "auth: permission denied" (not "etcdserver: …"); Flotilla answers the same.
 */
function requireMaintenanceAdmin(node: FlotillaNode, metadata: CallMetadata): void {
  try {
    requireAdmin(node, metadata);
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    throw new GrpcError(Status.UNKNOWN, error.message.replace(/^etcdserver: /, 'auth: '));
  }
}

/** The etcd API version Flotilla speaks; etcdctl and clients gate features on it. */
export const ETCD_API_VERSION = '3.4.0';

export function maintenanceService(node: FlotillaNode, headers: HeaderSource) {
  const header = () => headers.header(node.mvcc.currentRevision());
  return {
    async Status(): Promise<ProtoObject> {
      const status = node.status();
      return {
        header: header(),
        version: ETCD_API_VERSION,
        dbSize: String(node.dbSizeBytes()),
        leader: status.lead.toString(),
        raftIndex: String(status.commit),
        raftTerm: String(status.term),
        raftAppliedIndex: String(status.applied),
        errors: [],
        dbSizeInUse: String(node.sizeInUseBytes()),
        isLearner: status.learners.includes(node.memberId),
      };
    },

    async HashKV(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      requireMaintenanceAdmin(node, call.metadata);
      const result = node.mvcc.hashKV(int64(request.revision));
      return {
        header: header(),
        hash: String(result.hash),
        compact_revision: String(result.compactRevision),
      };
    },

    async Alarm(request: ProtoObject): Promise<ProtoObject> {
      const action = Number(request.action ?? 0);
      const alarm = Number(request.alarm ?? 0);
      if (action === 1 || action === 2) {
        const result = await node.propose({
          type: 'alarm',
          action,
          memberId: int64Id(request.memberID),
          alarm,
        });
        if (result.status === 'failed') throw result.error;
      }
      const alarms = node
        .alarmList()
        .filter((a) => action !== 0 || alarm === 0 || a.alarm === alarm)
        .map((a) => ({ memberID: a.memberId.toString(), alarm: a.alarm }));
      // etcd's applier builds AlarmResponse without a header, and nothing fills one in.
      return { alarms };
    },

    async Defragment(_: ProtoObject, __: () => boolean, call: CallContext): Promise<ProtoObject> {
      requireMaintenanceAdmin(node, call.metadata);
      // LMDB reuses freed pages itself, so there is nothing to rewrite; timed for the metric anyway.
      const endTimer = node.observability.metrics.defragSeconds.startTimer();
      endTimer();
      return {}; // etcd 3.4 answers an empty DefragmentResponse, without a header
    },

    async MoveLeader(request: ProtoObject): Promise<ProtoObject> {
      const target = int64Id(request.targetID);
      if (!node.isLeader()) throw new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: not leader');
      if (node.members.get(target) === undefined) {
        throw new GrpcError(Status.NOT_FOUND, 'etcdserver: bad leader transferee');
      }
      node.transferLeadership(target);
      return { header: header() };
    },
  };
}
