// The `etcd3` npm client, unchanged, against a real three-member Flotilla cluster.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3, EtcdLockFailedError, type IKeyValue } from 'etcd3';
import { FlotillaCluster, waitFor } from '../support/flotilla.js';

describe('the etcd3 npm client against a three-member cluster', () => {
  let cluster: FlotillaCluster;
  let client: Etcd3;

  before(async () => {
    cluster = await FlotillaCluster.start(3);
    client = new Etcd3({ hosts: cluster.endpoints.map((e) => `http://${e}`) });
  });
  after(async () => {
    client?.close();
    await cluster?.stop();
  });

  test('put, get, getAll with a prefix, delete', async () => {
    await client.put('app/a').value('1');
    await client.put('app/b').value('2');
    await client.put('other').value('x');
    assert.equal(await client.get('app/a').string(), '1');
    assert.deepEqual(await client.getAll().prefix('app/').strings(), { 'app/a': '1', 'app/b': '2' });
    assert.equal(await client.getAll().prefix('app/').count(), 2);
    await client.delete().key('app/a');
    assert.equal(await client.get('app/a').string(), null);
  });

  test('large ranges read at the same time each come back whole', async () => {
    // Each response is ~600 KiB, above the size sent without copying it behind its frame prefix,
    // and both are encoded in the same buffer one after the other.
    const value = (prefix: string, i: number) => `${prefix}${i}:`.padEnd(2048, prefix);
    const expected: Record<string, Record<string, string>> = { 'big-a/': {}, 'big-b/': {} };
    for (const prefix of Object.keys(expected)) {
      const txns = [];
      for (let first = 0; first < 300; first += 100) {
        const puts = [];
        for (let i = first; i < first + 100; i++) {
          const key = `${prefix}${String(i).padStart(4, '0')}`;
          expected[prefix][key] = value(prefix, i);
          puts.push(client.put(key).value(expected[prefix][key]));
        }
        txns.push(
          client
            .if(`${prefix}none`, 'Version', '==', 0)
            .then(...puts)
            .commit(),
        );
      }
      await Promise.all(txns);
    }
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        client.getAll().prefix('big-a/').strings(),
        client.getAll().prefix('big-b/').strings(),
      ]);
      assert.deepEqual(a, expected['big-a/']);
      assert.deepEqual(b, expected['big-b/']);
    }
  });

  test('an if/then/else transaction takes the right branch', async () => {
    await client.put('counter').value('1');
    const result = await client
      .if('counter', 'Value', '==', '1')
      .then(client.put('counter').value('2'))
      .else(client.put('counter').value('x'))
      .commit();
    assert.equal(result.succeeded, true);
    assert.equal(await client.get('counter').string(), '2');
    const again = await client
      .if('counter', 'Value', '==', '1')
      .then(client.put('counter').value('3'))
      .commit();
    assert.equal(again.succeeded, false);
  });

  test('a watcher sees puts and deletes in order, with previous values', async () => {
    const watcher = await client.watch().prefix('watched/').withPreviousKV().create();
    const seen: string[] = [];
    watcher.on('put', (kv: IKeyValue, previous?: IKeyValue) => {
      seen.push(`put ${kv.key.toString()}=${kv.value.toString()} prev=${previous?.value.toString() ?? '-'}`);
    });
    watcher.on('delete', (kv: IKeyValue) => seen.push(`delete ${kv.key.toString()}`));
    await client.put('watched/k').value('v1');
    await client.put('watched/k').value('v2');
    await client.delete().key('watched/k');
    await waitFor('three watch events', 10_000, async () => (seen.length >= 3 ? true : undefined));
    await watcher.cancel();
    assert.deepEqual(seen, ['put watched/k=v1 prev=-', 'put watched/k=v2 prev=v1', 'delete watched/k']);
  });

  test('a watch resumed from a past revision replays history exactly', async () => {
    const first = await client.put('replay/k').value('a').exec();
    await client.put('replay/k').value('b');
    await client.put('replay/k').value('c');
    const watcher = await client
      .watch()
      .key('replay/k')
      .startRevision(String(first.header.revision))
      .create();
    const values: string[] = [];
    watcher.on('put', (kv: IKeyValue) => values.push(kv.value.toString()));
    await waitFor('replayed events', 10_000, async () => (values.length >= 3 ? true : undefined));
    await watcher.cancel();
    assert.deepEqual(values, ['a', 'b', 'c']);
  });

  test('a lease keeps its keys alive, and revoking it deletes them', async () => {
    const lease = client.lease(10, { autoKeepAlive: false });
    await lease.put('leased/k').value('v');
    await lease.keepaliveOnce();
    const ttl = await client.getAll().prefix('leased/').count();
    assert.equal(ttl, 1);
    await lease.revoke();
    assert.equal(await client.get('leased/k').string(), null);
  });

  test('a lease that is not kept alive expires and takes its keys', async () => {
    const lease = client.lease(2, { autoKeepAlive: false });
    await lease.put('expiring/k').value('v');
    const gone = await waitFor('the lease to expire', 15_000, async () =>
      (await client.get('expiring/k').string()) === null ? true : undefined,
    );
    assert.equal(gone, true);
  });

  test('a held lock refuses a second holder until it is released (etcd3 locks are try-locks)', async () => {
    const first = await client.lock('resource').ttl(10).acquire();
    await assert.rejects(client.lock('resource').ttl(10).acquire(), EtcdLockFailedError);
    await first.release();
    const third = await client.lock('resource').ttl(10).acquire();
    await third.release();
  });

  test('an election has one leader; when it resigns the next candidate leads', async () => {
    const election = client.election('singer', 10);
    const alice = election.campaign('alice');
    await waitFor('alice to lead', 10_000, async () =>
      (await election.leader()) === 'alice' ? true : undefined,
    );
    const bob = client.election('singer', 10).campaign('bob');
    assert.equal(await election.leader(), 'alice');
    await alice.resign();
    await waitFor('bob to lead', 10_000, async () =>
      (await election.leader()) === 'bob' ? true : undefined,
    );
    await bob.resign();
  });
});
