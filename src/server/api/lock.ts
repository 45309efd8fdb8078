// v3lockpb.Lock: a distributed mutex whose key's create revision is a fencing token.

import type { FlotillaNode } from '../node.js';
import { type HeaderSource, int64Id, type ProtoObject } from './convert.js';
import {
  asCoordinationError,
  coordinationNeeds,
  firstCreated,
  requireCoordination,
  sessionKey,
  txn,
  waitDeletes,
} from './coordination.js';
import { GrpcError, Status } from './errors.js';
import type { CallContext } from './grpc.js';

export function lockService(node: FlotillaNode, headers: HeaderSource) {
  return {
    async Lock(request: ProtoObject, cancelled: () => boolean, call: CallContext): Promise<ProtoObject> {
      const name = request.name as Uint8Array;
      const lease = int64Id(request.lease);
      if (name.byteLength === 0)
        throw new GrpcError(Status.INVALID_ARGUMENT, 'etcdserver: key is not provided');
      const key = sessionKey(name, lease);
      const caller = requireCoordination(node, call.metadata, coordinationNeeds(name, [key]));
      // Create our key unless this session already holds one (clientv3 concurrency.Mutex.Lock).
      const response = await txn(
        node,
        {
          compare: [{ key, target: 1, result: 0, createRevision: 0 }],
          success: [{ type: 'put', put: { key, value: new Uint8Array(0), lease } }],
          failure: [{ type: 'range', range: { key } }],
        },
        caller,
      );
      let myRevision = response.header.revision;
      if (!response.succeeded) {
        const existing = response.responses[0];
        if (existing.type === 'range' && existing.range.kvs[0])
          myRevision = existing.range.kvs[0].createRevision;
      }
      const owner = await firstCreated(node, name);
      if (owner !== undefined && owner.createRevision !== myRevision) {
        await waitDeletes(node, name, myRevision - 1, cancelled);
      }
      return { header: headers.header(node.mvcc.currentRevision()), key };
    },

    async Unlock(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const key = (request.key as Uint8Array | undefined) ?? new Uint8Array(0);
      const caller = requireCoordination(node, call.metadata, [
        { access: 'write', key, rangeEnd: new Uint8Array(0) },
      ]);
      const result = await node
        .propose({ type: 'deleteRange', deleteRange: { key } }, caller)
        .catch(asCoordinationError);
      if (result.status === 'failed') throw result.error;
      return { header: headers.header(node.mvcc.currentRevision()) };
    },
  };
}
