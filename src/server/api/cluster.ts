// etcdserverpb.Cluster: membership, backed by one-server-at-a-time Raft changes. Changes need the
// root role while auth is enabled (etcd's checkMembershipOperationPermission); listing does not.

import { type ConfChange, ConfChangeType } from '../../raft/types.js';
import { memberIdFor } from '../ids.js';
import { encodeMemberContext, type Member } from '../members.js';
import { ConfChangePendingError, type FlotillaNode } from '../node.js';
import { requireAdmin } from './authorize.js';
import { type HeaderSource, int64Id, type ProtoObject } from './convert.js';
import { GrpcError, Status } from './errors.js';
import type { CallContext } from './grpc.js';

function memberProto(member: Member): ProtoObject {
  return {
    ID: member.id.toString(),
    name: member.name,
    peerURLs: member.peerUrls,
    clientURLs: member.clientUrls,
    isLearner: member.isLearner,
  };
}

function urls(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

const memberNotFound = () => new GrpcError(Status.NOT_FOUND, 'etcdserver: member not found');

/** Bound on waiting for an earlier membership change to be applied before proposing ours. */
const CONF_CHANGE_RETRY_MS = 5_000;
const CONF_CHANGE_RETRY_INTERVAL_MS = 50;

/** Membership changes go one at a time: wait (bounded) while an earlier one is still applying. */
async function changeMembership(node: FlotillaNode, change: ConfChange): Promise<void> {
  const deadline = Date.now() + CONF_CHANGE_RETRY_MS;
  for (;;) {
    try {
      await node.proposeConfChange(change);
      return;
    } catch (error) {
      if (!(error instanceof ConfChangePendingError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, CONF_CHANGE_RETRY_INTERVAL_MS));
    }
  }
}

export function clusterService(node: FlotillaNode, headers: HeaderSource) {
  // etcd's ClusterServer.header() fills cluster id, member id and term, but no revision.
  const header = () => headers.header(0);
  const list = () => node.members.list().map(memberProto);
  return {
    async MemberList(): Promise<ProtoObject> {
      return { header: header(), members: list() };
    },

    async MemberAdd(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      requireAdmin(node, call.metadata);
      const peerUrls = urls(request.peerURLs);
      if (peerUrls.length === 0)
        throw new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: no peer URLs given');
      for (const member of node.members.list()) {
        if (member.peerUrls.some((url) => peerUrls.includes(url))) {
          throw new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
        }
      }
      // As etcd does for a runtime add: the id mixes in the time, so re-adding the same URLs later gets a new id.
      const id = memberIdFor(peerUrls, `${node.config.initialClusterToken}${Date.now()}`);
      const isLearner = request.isLearner === true;
      await changeMembership(node, {
        type: isLearner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter,
        nodeId: id,
        context: encodeMemberContext({ id, name: '', peerUrls, clientUrls: [] }),
      });
      const member = node.members.get(id);
      return { header: header(), member: member ? memberProto(member) : null, members: list() };
    },

    async MemberRemove(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      requireAdmin(node, call.metadata);
      const id = int64Id(request.ID);
      if (node.members.get(id) === undefined) throw memberNotFound();
      await changeMembership(node, {
        type: ConfChangeType.RemoveNode,
        nodeId: id,
        context: new Uint8Array(0),
      });
      return { header: header(), members: list() };
    },

    async MemberPromote(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      requireAdmin(node, call.metadata);
      const id = int64Id(request.ID);
      const member = node.members.get(id);
      if (member === undefined) throw memberNotFound();
      if (!member.isLearner) {
        throw new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member');
      }
      await changeMembership(node, {
        type: ConfChangeType.AddVoter,
        nodeId: id,
        context: encodeMemberContext(member),
      });
      return { header: header(), members: list() };
    },

    async MemberUpdate(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      requireAdmin(node, call.metadata);
      const id = int64Id(request.ID);
      const member = node.members.get(id);
      if (member === undefined) throw memberNotFound();
      const peerUrls = urls(request.peerURLs);
      if (peerUrls.length === 0)
        throw new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: no peer URLs given');
      for (const other of node.members.list()) {
        if (other.id !== id && other.peerUrls.some((url) => peerUrls.includes(url))) {
          throw new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
        }
      }
      const result = await node.propose({ type: 'memberUpdate', id, peerUrls });
      if (result.status === 'failed') throw result.error;
      return { header: header(), members: list() };
    },
  };
}
