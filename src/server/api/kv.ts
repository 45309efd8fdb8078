// etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact.
// Writes go through Raft; linearizable reads wait for a ReadIndex; serializable reads (and
// read-only txns whose ranges are all serializable) read the local store at once, as in etcd.

import type { ApplyResult } from '../../mvcc/store.js';
import { isTxnReadOnly } from '../../mvcc/txn.js';
import type { PutRequest, TxnRequest } from '../../mvcc/types.js';
import type { FlotillaNode } from '../node.js';
import type { ServerRequest } from '../replicated.js';
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
): Promise<ApplyResult & { status: 'applied' }> {
  const result = await node.propose(request);
  if (result.status === 'failed') throw result.error;
  if (result.status === 'skipped') throw new GrpcError(13, 'flotilla: entry applied twice');
  return result;
}

export function kvService(node: FlotillaNode, headers: HeaderSource) {
  return {
    async Range(request: ProtoObject): Promise<ProtoObject> {
      const range = rangeRequest(request, 'unbounded');
      if (!range.serializable && node.config.unsafe !== 'stale-reads') await node.linearizableRead();
      return (
        encodedRangeResponse(headers, node.mvcc, range) ?? rangeResponse(headers, node.mvcc.range(range))
      );
    },

    async Put(request: ProtoObject): Promise<ProtoObject> {
      const put = putRequest(request);
      node.checkQuota(putCost(put));
      const result = await write(node, { type: 'put', put });
      if (result.response.type !== 'put') throw new GrpcError(13, 'flotilla: wrong response type');
      const { header, prevKv } = result.response.put;
      return { header: headers.header(header.revision), prev_kv: prevKv ? keyValue(prevKv) : null };
    },

    async DeleteRange(request: ProtoObject): Promise<ProtoObject> {
      const result = await write(node, { type: 'deleteRange', deleteRange: deleteRangeRequest(request) });
      if (result.response.type !== 'deleteRange') throw new GrpcError(13, 'flotilla: wrong response type');
      const r = result.response.deleteRange;
      return {
        header: headers.header(r.header.revision),
        deleted: String(r.deleted),
        prev_kvs: r.prevKvs.map(keyValue),
      };
    },

    async Txn(request: ProtoObject): Promise<ProtoObject> {
      let txn = txnRequest(request);
      if (isTxnReadOnly(txn)) {
        // Served locally, without Raft re-encoding: empty range_ends keep their Go meaning.
        txn = txnRequest(request, 'unbounded');
        const serializable = [...(txn.success ?? []), ...(txn.failure ?? [])].every(
          (op) => op.type === 'range' && op.range.serializable === true,
        );
        if (!serializable && node.config.unsafe !== 'stale-reads') await node.linearizableRead();
        return txnResponse(headers, node.mvcc.readTxn(txn));
      }
      node.checkQuota(txnCost(txn));
      const result = await write(node, { type: 'txn', txn });
      if (result.response.type !== 'txn') throw new GrpcError(13, 'flotilla: wrong response type');
      return txnResponse(headers, result.response.txn);
    },

    async Compact(request: ProtoObject): Promise<ProtoObject> {
      const result = await write(node, { type: 'compact', compact: { revision: int64(request.revision) } });
      if (result.response.type !== 'compact') throw new GrpcError(13, 'flotilla: wrong response type');
      return { header: headers.header(result.response.compact.header.revision) };
    },
  };
}
