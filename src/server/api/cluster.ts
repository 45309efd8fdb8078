// etcdserverpb.Cluster: membership, backed by one-server-at-a-time Raft changes.

import { ConfChangeType } from '../../raft/types.js';
import { memberIdFor } from '../ids.js';
import { encodeMemberContext, type Member } from '../members.js';
import type { FlotillaNode } from '../node.js';
import { type HeaderSource, int64Id, type ProtoObject } from './convert.js';
import { GrpcError, Status } from './errors.js';

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

export function clusterService(node: FlotillaNode, headers: HeaderSource) {
  const header = () => headers.header(node.mvcc.currentRevision());
  const list = () => node.members.list().map(memberProto);
  return {
    async MemberList(): Promise<ProtoObject> {
      return { header: header(), members: list() };
    },

    async MemberAdd(request: ProtoObject): Promise<ProtoObject> {
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
      await node.proposeConfChange({
        type: isLearner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter,
        nodeId: id,
        context: encodeMemberContext({ id, name: '', peerUrls, clientUrls: [] }),
      });
      const member = node.members.get(id);
      return { header: header(), member: member ? memberProto(member) : null, members: list() };
    },

    async MemberRemove(request: ProtoObject): Promise<ProtoObject> {
      const id = int64Id(request.ID);
      if (node.members.get(id) === undefined) throw memberNotFound();
      await node.proposeConfChange({
        type: ConfChangeType.RemoveNode,
        nodeId: id,
        context: new Uint8Array(0),
      });
      return { header: header(), members: list() };
    },

    async MemberPromote(request: ProtoObject): Promise<ProtoObject> {
      const id = int64Id(request.ID);
      const member = node.members.get(id);
      if (member === undefined) throw memberNotFound();
      if (!member.isLearner) {
        throw new GrpcError(Status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member');
      }
      await node.proposeConfChange({
        type: ConfChangeType.AddVoter,
        nodeId: id,
        context: encodeMemberContext(member),
      });
      return { header: header(), members: list() };
    },

    async MemberUpdate(request: ProtoObject): Promise<ProtoObject> {
      const id = int64Id(request.ID);
      const member = node.members.get(id);
      if (member === undefined) throw memberNotFound();
      throw new GrpcError(Status.UNIMPLEMENTED, 'flotilla: MemberUpdate is not supported yet');
    },
  };
}
