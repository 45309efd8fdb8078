// Request-size limits answered exactly as etcd answers them: just over --max-request-bytes is
// etcd's "request is too large"; beyond gRPC's receive limit (max-request-bytes + 512 KiB) the
// gRPC layer refuses the message itself. The same through the JSON gateway, and --max-txn-ops
// counted level by level in nested transactions, as etcd's checkTxnRequest does.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from '../gateway/http-client.js';
import { type EtcdProcess, etcdSkipReason, startEtcd } from '../support/etcd.js';
import type { TxnRequest } from '../support/etcd-types.js';
import { FlotillaCluster } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

describe('request size limits, etcd and Flotilla side by side', { skip: etcdSkipReason() }, () => {
  let etcd: EtcdProcess;
  let flotilla: FlotillaCluster;
  before(async () => {
    etcd = await startEtcd();
    flotilla = await FlotillaCluster.start(1);
  });
  after(async () => {
    await etcd?.stop();
    await flotilla?.stop();
  });

  const putBoth = async (valueBytes: number) => {
    const request = { key: Buffer.from('big'), value: Buffer.alloc(valueBytes, 1) };
    const answers = [];
    for (const address of [etcd.address, flotilla.address(0)]) {
      const client = new EtcdClient(address);
      try {
        answers.push(await client.put(request));
      } finally {
        client.close();
      }
    }
    return answers;
  };

  const onBoth = async <T>(call: (client: EtcdClient) => Promise<T>): Promise<T[]> => {
    const answers: T[] = [];
    for (const address of [etcd.address, flotilla.address(0)]) {
      const client = new EtcdClient(address);
      try {
        answers.push(await call(client));
      } finally {
        client.close();
      }
    }
    return answers;
  };

  const gatewayPutBoth = async (valueBytes: number) => {
    const body = JSON.stringify({
      key: Buffer.from('big').toString('base64'),
      value: Buffer.alloc(valueBytes, 1).toString('base64'),
    });
    return [
      await request(`http://${etcd.address}`, '/v3/kv/put', body),
      await request(`http://${flotilla.address(0)}`, '/v3/kv/put', body),
    ];
  };

  /** A txn of `outer` success ops: puts, the last one a nested txn of `inner` puts when inner > 0. */
  const nestedTxn = (outer: number, inner: number): TxnRequest => {
    const put = (name: string) => ({ request_put: { key: Buffer.from(name), value: Buffer.from('v') } });
    const puts = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => put(`${prefix}/${i}`));
    if (inner === 0) return { success: puts('outer', outer) };
    return { success: [...puts('outer', outer - 1), { request_txn: { success: puts('inner', inner) } }] };
  };

  test('a put just over max-request-bytes: InvalidArgument "etcdserver: request is too large"', async () => {
    const [fromEtcd, fromFlotilla] = await putBoth(MAX_REQUEST_BYTES + 1024);
    assert.ok('error' in fromEtcd && 'error' in fromFlotilla);
    assert.deepEqual(fromFlotilla.error, fromEtcd.error);
    assert.equal(fromFlotilla.error.details, 'etcdserver: request is too large');
  });

  test('a put under the limit is accepted by both', async () => {
    const [fromEtcd, fromFlotilla] = await putBoth(MAX_REQUEST_BYTES - 4096);
    assert.ok('response' in fromEtcd && 'response' in fromFlotilla);
  });

  test('a put beyond the gRPC receive limit: ResourceExhausted with the text of grpc-go', async () => {
    const [fromEtcd, fromFlotilla] = await putBoth(MAX_REQUEST_BYTES + 1024 * 1024);
    assert.ok('error' in fromEtcd && 'error' in fromFlotilla);
    assert.deepEqual(fromFlotilla.error, fromEtcd.error);
  });

  test('gateway: a put just over max-request-bytes gets the status and body etcd gives', async () => {
    const [fromEtcd, fromFlotilla] = await gatewayPutBoth(MAX_REQUEST_BYTES + 1024);
    assert.deepEqual(fromFlotilla, fromEtcd);
  });

  test('gateway: a put beyond the gRPC receive limit gets the status and body etcd gives', async () => {
    const [fromEtcd, fromFlotilla] = await gatewayPutBoth(MAX_REQUEST_BYTES + 1024 * 1024);
    assert.deepEqual(fromFlotilla, fromEtcd);
  });

  test('max-txn-ops: 129 ops at the top level are too many, 128 are not', async () => {
    for (const [ops, refused] of [
      [129, true],
      [128, false],
    ] as const) {
      const [fromEtcd, fromFlotilla] = await onBoth((c) => c.txn(nestedTxn(ops, 0)));
      assert.equal('error' in fromEtcd, refused, `${ops} ops`);
      if ('error' in fromEtcd && 'error' in fromFlotilla)
        assert.deepEqual(fromFlotilla.error, fromEtcd.error);
      else assert.ok('response' in fromFlotilla);
    }
  });

  test('max-txn-ops: a nested txn gets what its parent leaves (128 - 100 = 28 ops)', async () => {
    for (const [inner, refused] of [
      [29, true],
      [28, false],
    ] as const) {
      const [fromEtcd, fromFlotilla] = await onBoth((c) => c.txn(nestedTxn(100, inner)));
      assert.equal('error' in fromEtcd, refused, `nested ${inner} ops`);
      if ('error' in fromEtcd && 'error' in fromFlotilla)
        assert.deepEqual(fromFlotilla.error, fromEtcd.error);
      else assert.ok('response' in fromFlotilla, JSON.stringify(fromFlotilla));
    }
  });
});
