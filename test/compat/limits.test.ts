// Request-size limits answered exactly as etcd answers them: just over --max-request-bytes is
// etcd's "request is too large"; beyond gRPC's receive limit (max-request-bytes + 512 KiB) the
// gRPC layer refuses the message itself.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EtcdProcess, etcdSkipReason, startEtcd } from '../support/etcd.js';
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

  test('a put beyond the gRPC receive limit is refused by the gRPC layer with the same code', async () => {
    const [fromEtcd, fromFlotilla] = await putBoth(MAX_REQUEST_BYTES + 1024 * 1024);
    assert.ok('error' in fromEtcd && 'error' in fromFlotilla);
    assert.equal(fromFlotilla.error.code, fromEtcd.error.code);
  });
});
