// The storage quota: past --quota-backend-bytes the NOSPACE alarm goes up cluster-wide and writes
// are refused with etcd's error, while reads, deletes and compaction still work; after freeing
// space, `etcdctl alarm disarm` lets writes in again.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { FlotillaCluster } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

const run = promisify(execFile);
const ETCDCTL = process.env.FLOTILLA_ETCDCTL_BIN ?? '/usr/bin/etcdctl';
const QUOTA_BYTES = 256 * 1024;
/** Bound on the fill loop: far more than the quota needs, so the test ends even if it never trips. */
const FILL_PUTS_MAX = 2_000;

let cluster: FlotillaCluster | undefined;
after(async () => cluster?.stop());

test('NOSPACE: writes refused past the quota, reads and deletes allowed, disarm after compaction', async () => {
  cluster = await FlotillaCluster.start(3, [`--quota-backend-bytes=${QUOTA_BYTES}`]);
  const endpoints = cluster.endpoints.join(',');
  const etcdctl = async (...args: string[]) =>
    (await run(ETCDCTL, [`--endpoints=${endpoints}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' } }))
      .stdout;
  const client = new EtcdClient(cluster.address(0));
  try {
    const value = Buffer.alloc(4096, 'x');
    let refused: { code: number; details: string } | undefined;
    let written = 0;
    for (; written < FILL_PUTS_MAX && refused === undefined; written++) {
      const result = await client.put({ key: Buffer.from(`fill/${written}`), value });
      if ('error' in result) refused = result.error;
    }
    assert.ok(refused, `${FILL_PUTS_MAX} puts of 4 KiB never hit a ${QUOTA_BYTES}-byte quota`);
    assert.equal(refused.details, 'etcdserver: mvcc: database space exceeded');
    assert.equal(refused.code, 8); // ResourceExhausted
    assert.match(await etcdctl('alarm', 'list'), /alarm:NOSPACE/);

    // Every member refuses writes now, not just the one that measured.
    const other = new EtcdClient(cluster.address(1));
    const elsewhere = await other.put({ key: Buffer.from('tiny'), value: Buffer.from('1') });
    other.close();
    assert.ok(
      'error' in elsewhere && elsewhere.error.details === 'etcdserver: mvcc: database space exceeded',
    );

    // Reads, deletes and compaction still work.
    const got = await client.range({ key: Buffer.from('fill/0') });
    assert.ok('response' in got && got.response.kvs.length === 1);
    const deleted = await client.deleteRange({ key: Buffer.from('fill/'), range_end: Buffer.from('fill0') });
    assert.ok('response' in deleted, JSON.stringify(deleted));
    await etcdctl('compaction', String(deleted.response.header?.revision));

    await etcdctl('alarm', 'disarm');
    assert.equal((await etcdctl('alarm', 'list')).trim(), '');
    assert.equal((await etcdctl('put', 'after-disarm', 'ok')).trim(), 'OK');
  } finally {
    client.close();
  }
});
