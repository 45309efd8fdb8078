// etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact.
// Writes go through Raft; linearizable reads wait for a ReadIndex; serializable reads (and
// read-only txns whose ranges are all serializable) read the local store at once, as in etcd.

import { deleteRangeNeeds, leaseKeysNeeds, putNeeds, rangeNeeds, txnNeeds } from '../../auth/needs.js';
import type { ApplyResult } from '../../mvcc/store.js';
import { isTxnReadOnly } from '../../mvcc/txn.js';
import type { PutRequest, TxnRequest } from '../../mvcc/types.js';
import type { FlotillaNode } from '../node.js';
import type { ServerRequest } from '../replicated.js';
import { requireKeys } from './authorize.js';
import {
  deleteRangeRequest,
  type HeaderSource,
  int64,
  keyValue,
  type ProtoObject,
  putRequest,
  rangeRequest,
  rangeResponse,
  txnRequest,
  txnResponse,
} from './convert.js';
import { GrpcError } from './errors.js';
import { encodedRangeResponse } from './fast-codec.js';
import type { CallContext } from './grpc.js';

/** Storage a put may take: key and value plus per-revision bookkeeping (etcd's quota cost). */
function putCost(put: PutRequest): number {
  return put.key.byteLength + (put.value?.byteLength ?? 0) + 128;
}

function txnCost(txn: TxnRequest): number {
  let cost = 0;
  for (const op of [...(txn.success ?? []), ...(txn.failure ?? [])]) {
    if (op.type === 'put') cost += putCost(op.put);
    else if (op.type === 'txn') cost += txnCost(op.txn);
  }
  return cost;
}

async function write(
  node: FlotillaNode,
  request: ServerRequest,
  caller: string | null,
): Promise<ApplyResult & { status: 'applied' }> {
  const result = await node.propose(request, caller);
  if (result.status === 'failed') throw result.error;
  if (result.status === 'skipped') throw new GrpcError(13, 'flotilla: entry applied twice');
  return result;
}

export function kvService(node: FlotillaNode, headers: HeaderSource) {
  return {
    async Range(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const range = rangeRequest(request, 'unbounded');
      // As etcd: the read index first, so the check sees every auth change committed before it.
      if (!range.serializable && node.config.unsafe !== 'stale-reads') await node.linearizableRead();
      requireKeys(node, call.metadata, () => rangeNeeds(range));
      return (
        encodedRangeResponse(headers, node.mvcc, range) ?? rangeResponse(headers, node.mvcc.range(range))
      );
    },

    async Put(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const put = putRequest(request);
      // Attaching a lease needs write on the lease's keys too: otherwise a user could revoke keys
      // it may not write by revoking the lease (etcd's checkLeasePuts).
      const lease = put.lease ?? 0n;
      const leaseKeys = lease === 0n || !node.auth.isEnabled() ? [] : node.mvcc.keysWithLease(lease);
      const caller = requireKeys(node, call.metadata, () => [...putNeeds(put), ...leaseKeysNeeds(leaseKeys)]);
      node.checkQuota(putCost(put));
      const result = await write(node, { type: 'put', put }, caller);
      if (result.response.type !== 'put') throw new GrpcError(13, 'flotilla: wrong response type');
      const { header, prevKv } = result.response.put;
      return { header: headers.header(header.revision), prev_kv: prevKv ? keyValue(prevKv) : null };
    },

    async DeleteRange(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const deleteRange = deleteRangeRequest(request);
      const caller = requireKeys(node, call.metadata, () => deleteRangeNeeds(deleteRange));
      const result = await write(node, { type: 'deleteRange', deleteRange }, caller);
      if (result.response.type !== 'deleteRange') throw new GrpcError(13, 'flotilla: wrong response type');
      const r = result.response.deleteRange;
      return {
        header: headers.header(r.header.revision),
        deleted: String(r.deleted),
        prev_kvs: r.prevKvs.map(keyValue),
      };
    },

    async Txn(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      let txn = txnRequest(request);
      if (isTxnReadOnly(txn)) {
        // Served locally, without Raft re-encoding: empty range_ends keep their Go meaning.
        txn = txnRequest(request, 'unbounded');
        const serializable = [...(txn.success ?? []), ...(txn.failure ?? [])].every(
          (op) => op.type === 'range' && op.range.serializable === true,
        );
        if (!serializable && node.config.unsafe !== 'stale-reads') await node.linearizableRead();
        requireKeys(node, call.metadata, () => txnNeeds(txn));
        return txnResponse(headers, node.mvcc.readTxn(txn));
      }
      const caller = requireKeys(node, call.metadata, () => txnNeeds(txn));
      node.checkQuota(txnCost(txn));
      const result = await write(node, { type: 'txn', txn }, caller);
      if (result.response.type !== 'txn') throw new GrpcError(13, 'flotilla: wrong response type');
      return txnResponse(headers, result.response.txn);
    },

    // etcd 3.4 lets any user compact (no permission check): so does Flotilla, for compatibility.
    async Compact(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      requireKeys(node, call.metadata, []);
      const result = await write(
        node,
        { type: 'compact', compact: { revision: int64(request.revision) } },
        null,
      );
      if (result.response.type !== 'compact') throw new GrpcError(13, 'flotilla: wrong response type');
      return { header: headers.header(result.response.compact.header.revision) };
    },
  };
}
