// v3electionpb.Election: leader election on a name; the leader key's create revision orders
// candidates, and Observe streams each change of leader or leader value.

import type { KeyValue } from '../../mvcc/types.js';
import type { FlotillaNode } from '../node.js';
import { type HeaderSource, int64, int64Id, keyValue, type ProtoObject } from './convert.js';
import {
  coordinationNeeds,
  firstCreated,
  prefixEnd,
  requireCoordination,
  sessionKey,
  txn,
  waitDeletes,
} from './coordination.js';
import { GrpcError, Status } from './errors.js';
import type { CallContext } from './grpc.js';

const notLeader = () => new GrpcError(Status.FAILED_PRECONDITION, 'election: not leader');
// etcd's v3election returns concurrency.ErrElectionNoLeader as a plain Go error: gRPC code Unknown.
const noLeader = () => new GrpcError(Status.UNKNOWN, 'election: no leader');

interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  readonly rev: number;
  readonly lease: bigint;
}

function leaderKey(value: unknown): LeaderKey {
  const l = (value ?? {}) as ProtoObject;
  return {
    name: (l.name as Uint8Array) ?? new Uint8Array(0),
    key: (l.key as Uint8Array) ?? new Uint8Array(0),
    rev: int64(l.rev),
    lease: int64Id(l.lease),
  };
}

export function electionService(node: FlotillaNode, headers: HeaderSource) {
  const header = () => headers.header(node.mvcc.currentRevision());

  const proclaim = async (leader: LeaderKey, value: Uint8Array, caller: string | null) => {
    const response = await txn(
      node,
      {
        compare: [{ key: leader.key, target: 1, result: 0, createRevision: leader.rev }],
        success: [{ type: 'put', put: { key: leader.key, value, lease: leader.lease } }],
        failure: [],
      },
      caller,
    );
    if (!response.succeeded) throw notLeader();
  };

  return {
    async Campaign(request: ProtoObject, cancelled: () => boolean, call: CallContext): Promise<ProtoObject> {
      const name = request.name as Uint8Array;
      const lease = int64Id(request.lease);
      const value = (request.value as Uint8Array) ?? new Uint8Array(0);
      const key = sessionKey(name, lease);
      const caller = requireCoordination(node, call.metadata, coordinationNeeds(name, [key]));
      const response = await txn(
        node,
        {
          compare: [{ key, target: 1, result: 0, createRevision: 0 }],
          success: [{ type: 'put', put: { key, value, lease } }],
          failure: [{ type: 'range', range: { key } }],
        },
        caller,
      );
      let rev = response.header.revision;
      if (!response.succeeded) {
        const existing = response.responses[0];
        const kv = existing.type === 'range' ? existing.range.kvs[0] : undefined;
        if (kv !== undefined) {
          rev = kv.createRevision;
          if (!Buffer.from(kv.value).equals(Buffer.from(value)))
            await proclaim({ name, key, rev, lease }, value, caller);
        }
      }
      await waitDeletes(node, name, rev - 1, cancelled);
      return { header: header(), leader: { name, key, rev: String(rev), lease: lease.toString() } };
    },

    async Proclaim(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const leader = leaderKey(request.leader);
      const caller = requireCoordination(node, call.metadata, coordinationNeeds(leader.name, [leader.key]));
      await proclaim(leader, (request.value as Uint8Array) ?? new Uint8Array(0), caller);
      return { header: header() };
    },

    async Leader(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      requireCoordination(node, call.metadata, coordinationNeeds(request.name as Uint8Array, []));
      const leader = await firstCreated(node, request.name as Uint8Array);
      if (leader === undefined) throw noLeader();
      return { header: header(), kv: keyValue(leader) };
    },

    async Resign(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const leader = leaderKey(request.leader);
      const caller = requireCoordination(node, call.metadata, coordinationNeeds(leader.name, [leader.key]));
      await txn(
        node,
        {
          compare: [{ key: leader.key, target: 1, result: 0, createRevision: leader.rev }],
          success: [{ type: 'deleteRange', deleteRange: { key: leader.key } }],
          failure: [],
        },
        caller,
      );
      return { header: header() };
    },
  };
}

/** Observe: sends the current leader, then every change of leader key or value, until cancelled. */
export function observeLeader(
  node: FlotillaNode,
  headers: HeaderSource,
  name: Uint8Array,
  send: (response: ProtoObject) => void,
  onEnd: (stop: () => void) => void,
): void {
  const prefix = Buffer.concat([Buffer.from(name), Buffer.from('/')]);
  const end = prefixEnd(prefix);
  let last: KeyValue | undefined;
  const check = () => {
    const current = node.mvcc.range({ key: prefix, rangeEnd: end, sortOrder: 1, sortTarget: 2, limit: 1 })
      .kvs[0];
    if (current === undefined) return;
    if (
      last !== undefined &&
      last.modRevision === current.modRevision &&
      Buffer.from(last.key).equals(Buffer.from(current.key))
    ) {
      return;
    }
    last = current;
    send({ header: headers.header(node.mvcc.currentRevision()), kv: keyValue(current) });
  };
  node.linearizableRead().then(check, () => undefined);
  const unsubscribe = node.onApplied(check);
  onEnd(unsubscribe);
}
