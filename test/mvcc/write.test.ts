import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcStatus, KeyNotFoundError, LeaseNotFoundError } from '../../src/mvcc/index.js';
import { ALL, b, keysOf, s, withStore } from './helpers.js';

test('put bumps the revision and version and keeps create revision', () =>
  withStore((store) => {
    assert.equal(store.put({ key: b('k'), value: b('1') }).header.revision, 2);
    assert.equal(store.put({ key: b('k'), value: b('2') }).header.revision, 3);
    const kv = store.range({ key: b('k') }).kvs[0]!;
    assert.deepEqual([kv.createRevision, kv.modRevision, kv.version, s(kv.value)], [2, 3, 2, '2']);
  }));

test('put prev_kv returns the previous key-value, none for a new key', () =>
  withStore((store) => {
    assert.equal(store.put({ key: b('k'), value: b('1'), prevKv: true }).prevKv, undefined);
    const r = store.put({ key: b('k'), value: b('2'), prevKv: true });
    assert.equal(s(r.prevKv!.value), '1');
    assert.equal(r.prevKv!.modRevision, 2);
  }));

test('put ignore_value keeps the value and ignore_lease keeps the lease', () =>
  withStore((store) => {
    store.put({ key: b('k'), value: b('v'), lease: 7n });
    store.put({ key: b('k'), ignoreValue: true, lease: 8n });
    let kv = store.range({ key: b('k') }).kvs[0]!;
    assert.equal(s(kv.value), 'v');
    assert.equal(kv.lease, 8n);
    store.put({ key: b('k'), value: b('w'), ignoreLease: true });
    kv = store.range({ key: b('k') }).kvs[0]!;
    assert.equal(s(kv.value), 'w');
    assert.equal(kv.lease, 8n);
    assert.equal(kv.version, 3);
  }));

test('ignore_value / ignore_lease on a missing key fail with "key not found" and change nothing', () =>
  withStore((store) => {
    for (const req of [{ ignoreValue: true }, { ignoreLease: true }]) {
      assert.throws(
        () => store.put({ key: b('missing'), ...req }),
        (e: unknown) => {
          assert.ok(e instanceof KeyNotFoundError);
          assert.equal(e.code, GrpcStatus.InvalidArgument);
          assert.equal(e.message, 'etcdserver: key not found');
          return true;
        },
      );
    }
    assert.equal(store.currentRevision(), 1);
    assert.equal(store.appliedIndex(), 2, 'refused entries still advance the applied index');
  }));

test('ignore_value with a value and ignore_lease with a lease are rejected', () =>
  withStore((store) => {
    store.put({ key: b('k'), value: b('v') });
    assert.throws(() => store.put({ key: b('k'), value: b('x'), ignoreValue: true }), {
      message: 'etcdserver: value is provided',
    });
    assert.throws(() => store.put({ key: b('k'), lease: 1n, ignoreLease: true }), {
      message: 'etcdserver: lease is provided',
    });
  }));

test('put with an empty key fails with "key is not provided"', () =>
  withStore((store) => {
    assert.throws(
      () => store.put({ key: new Uint8Array(0), value: b('v') }),
      (e: unknown) => {
        assert.ok(e instanceof Error && 'code' in e);
        assert.equal(e.code, GrpcStatus.InvalidArgument);
        assert.equal(e.message, 'etcdserver: key is not provided');
        return true;
      },
    );
  }));

test('put with a lease the lease checker does not know fails with "requested lease not found"', () =>
  withStore(
    (store) => {
      store.put({ key: b('k'), value: b('v'), lease: 1n });
      assert.throws(
        () => store.put({ key: b('k'), value: b('v'), lease: 2n }),
        (e: unknown) => {
          assert.ok(e instanceof LeaseNotFoundError);
          assert.equal(e.code, GrpcStatus.NotFound);
          assert.equal(e.message, 'etcdserver: requested lease not found');
          return true;
        },
      );
    },
    { leases: { leaseExists: (id) => id === 1n } },
  ));

test('keysWithLease tracks attach, re-attach and delete', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1'), lease: 5n });
    store.put({ key: b('b'), value: b('1'), lease: 5n });
    store.put({ key: b('c'), value: b('1'), lease: 6n });
    store.put({ key: b('b'), value: b('2'), lease: 6n });
    assert.deepEqual(keysOf(store.keysWithLease(5n).map((key) => ({ key }))), ['a']);
    assert.deepEqual(keysOf(store.keysWithLease(6n).map((key) => ({ key }))), ['b', 'c']);
    store.deleteRange({ key: b('c') });
    assert.deepEqual(keysOf(store.keysWithLease(6n).map((key) => ({ key }))), ['b']);
    store.put({ key: b('a'), value: b('2') });
    assert.deepEqual(store.keysWithLease(5n), []);
  }));

test('lease revoke deletes every attached key in one revision', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1'), lease: 5n });
    store.put({ key: b('b'), value: b('1'), lease: 5n });
    store.put({ key: b('c'), value: b('1') });
    const result = store.applyEntry(store.appliedIndex() + 1, { type: 'leaseRevoke', leaseId: 5n });
    assert.equal(result.status, 'applied');
    assert.ok(result.status === 'applied' && result.response.type === 'leaseRevoke');
    assert.equal(result.response.leaseRevoke.deleted, 2);
    assert.equal(result.response.leaseRevoke.header.revision, 5);
    assert.equal(result.events.length, 2);
    assert.deepEqual(keysOf(store.range({ key: b('a'), rangeEnd: ALL }).kvs), ['c']);
  }));

test('delete range with prev_kv returns the deleted key-values and the count', () =>
  withStore((store) => {
    for (const k of ['a', 'b', 'c']) store.put({ key: b(k), value: b(k) });
    const r = store.deleteRange({ key: b('a'), rangeEnd: b('c'), prevKv: true });
    assert.equal(r.deleted, 2);
    assert.deepEqual(keysOf(r.prevKvs), ['a', 'b']);
    assert.equal(r.header.revision, 5);
    assert.deepEqual(keysOf(store.range({ key: b('a'), rangeEnd: ALL }).kvs), ['c']);
    const withoutPrev = store.deleteRange({ key: b('c') });
    assert.equal(withoutPrev.deleted, 1);
    assert.deepEqual(withoutPrev.prevKvs, []);
  }));

test('delete of nothing keeps the revision', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1') });
    const r = store.deleteRange({ key: b('x'), rangeEnd: b('z'), prevKv: true });
    assert.deepEqual(r, { header: { revision: 2 }, deleted: 0, prevKvs: [] });
    assert.equal(store.currentRevision(), 2);
  }));

test('a key deleted and put again starts a new generation', () =>
  withStore((store) => {
    store.put({ key: b('k'), value: b('1') }); // 2
    store.put({ key: b('k'), value: b('2') }); // 3
    store.deleteRange({ key: b('k') }); // 4
    store.put({ key: b('k'), value: b('3') }); // 5
    const kv = store.range({ key: b('k') }).kvs[0]!;
    assert.deepEqual([kv.createRevision, kv.modRevision, kv.version], [5, 5, 1]);
  }));

test('keys with zero bytes keep their order and identity', () =>
  withStore((store) => {
    const keys = [[1], [1, 0], [1, 0, 0], [1, 0, 1], [1, 1], [0], [0, 0xff]].map((k) => new Uint8Array(k));
    for (const key of keys) store.put({ key, value: key });
    store.put({ key: new Uint8Array([1, 0]), value: b('again') });
    const all = store.range({ key: new Uint8Array([0]), rangeEnd: ALL });
    const sorted = [...keys].sort(Buffer.compare);
    assert.deepEqual(
      all.kvs.map((kv) => [...kv.key]),
      sorted.map((k) => [...k]),
    );
    const past = store.range({ key: new Uint8Array([0]), rangeEnd: ALL, revision: 8 });
    assert.deepEqual(
      past.kvs.map((kv) => [...kv.value]),
      sorted.map((k) => [...k]),
    );
    assert.equal(store.range({ key: new Uint8Array([1, 0]), revision: 8 }).kvs[0]!.version, 1);
  }));
