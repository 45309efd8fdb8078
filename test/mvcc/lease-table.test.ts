import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GrpcStatus,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseTtlTooLargeError,
  MAX_LEASE_TTL_SECONDS,
  type MvccStore,
} from '../../src/mvcc/index.js';
import { ALL, b, keysOf, openTemp, withStore } from './helpers.js';

const TABLE = { leaseChecks: 'table' } as const;

function grant(store: MvccStore, id: bigint, ttlSeconds: number) {
  return store.applyEntry(store.appliedIndex() + 1, { type: 'leaseGrant', leaseGrant: { id, ttlSeconds } });
}

test('leaseGrant adds a lease record without changing the revision', () =>
  withStore((store) => {
    const result = grant(store, 7n, 30);
    assert.ok(result.status === 'applied' && result.response.type === 'leaseGrant');
    assert.deepEqual(result.response.leaseGrant, { header: { revision: 1 }, id: 7n, ttlSeconds: 30 });
    assert.deepEqual(store.lease(7n), { id: 7n, ttlSeconds: 30, remainingTtlSeconds: 0 });
    assert.equal(store.currentRevision(), 1);
    assert.deepEqual(result.events, []);
  }, TABLE));

test('granting an id in use fails with "etcdserver: lease already exists"; id 0 and huge TTLs fail too', () =>
  withStore((store) => {
    grant(store, 7n, 30);
    const again = grant(store, 7n, 60);
    assert.ok(again.status === 'failed');
    assert.ok(again.error instanceof LeaseExistsError);
    assert.equal(again.error.message, 'etcdserver: lease already exists');
    assert.equal(again.error.code, GrpcStatus.FailedPrecondition);
    assert.equal(store.lease(7n)!.ttlSeconds, 30);
    const zero = grant(store, 0n, 30);
    assert.ok(zero.status === 'failed' && zero.error instanceof LeaseNotFoundError);
    const huge = grant(store, 8n, MAX_LEASE_TTL_SECONDS + 1);
    assert.ok(huge.status === 'failed' && huge.error instanceof LeaseTtlTooLargeError);
    assert.equal(huge.error.message, 'etcdserver: too large lease TTL');
  }, TABLE));

test('a put (or txn put) naming a lease not in the table fails with NotFound', () =>
  withStore((store) => {
    assert.throws(
      () => store.put({ key: b('k'), value: b('v'), lease: 5n }),
      (e: unknown) => {
        assert.ok(e instanceof LeaseNotFoundError);
        assert.equal(e.code, GrpcStatus.NotFound);
        assert.equal(e.message, 'etcdserver: requested lease not found');
        return true;
      },
    );
    assert.throws(
      () => store.txn({ success: [{ type: 'put', put: { key: b('k'), value: b('v'), lease: 5n } }] }),
      LeaseNotFoundError,
    );
    assert.equal(store.currentRevision(), 1);
  }, TABLE));

test('a grant and a put using it in the same batch both apply', () =>
  withStore((store) => {
    const results = store.applyBatch([
      { index: 1, request: { type: 'leaseGrant', leaseGrant: { id: 9n, ttlSeconds: 10 } } },
      { index: 2, request: { type: 'put', put: { key: b('k'), value: b('v'), lease: 9n } } },
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['applied', 'applied'],
    );
    assert.equal(store.range({ key: b('k') }).kvs[0]!.lease, 9n);
  }, TABLE));

test('leaseRevoke deletes the record and every attached key in one revision', () =>
  withStore((store) => {
    grant(store, 5n, 10);
    store.put({ key: b('a'), value: b('1'), lease: 5n }); // 2
    store.put({ key: b('b'), value: b('1'), lease: 5n }); // 3
    store.put({ key: b('c'), value: b('1') }); // 4
    const result = store.applyEntry(store.appliedIndex() + 1, { type: 'leaseRevoke', leaseId: 5n });
    assert.ok(result.status === 'applied');
    assert.deepEqual(
      result.events.map((e) => e.kv.modRevision),
      [5, 5],
    );
    assert.equal(store.lease(5n), undefined);
    assert.deepEqual(keysOf(store.range({ key: b('a'), rangeEnd: ALL }).kvs), ['c']);
    const again = store.applyEntry(store.appliedIndex() + 1, { type: 'leaseRevoke', leaseId: 5n });
    assert.ok(again.status === 'failed' && again.error instanceof LeaseNotFoundError);
    assert.equal(store.currentRevision(), 5);
  }, TABLE));

test('leaseCheckpoint persists remaining TTLs and skips leases that are gone', () =>
  withStore((store) => {
    grant(store, 1n, 600);
    const result = store.applyEntry(store.appliedIndex() + 1, {
      type: 'leaseCheckpoint',
      leaseCheckpoint: {
        checkpoints: [
          { id: 1n, remainingTtlSeconds: 420 },
          { id: 2n, remainingTtlSeconds: 10 },
        ],
      },
    });
    assert.equal(result.status, 'applied');
    assert.deepEqual(store.leaseRecords(), [{ id: 1n, ttlSeconds: 600, remainingTtlSeconds: 420 }]);
  }, TABLE));

test('leases survive close and reopen, with the applied index', async () => {
  const temp = openTemp({ ...TABLE, sync: 'durable' });
  try {
    grant(temp.store, 1n, 60);
    grant(temp.store, -3n, 90);
    const store = await temp.reopen();
    assert.deepEqual(
      store.leaseRecords().map((l) => l.id),
      [1n, -3n],
    );
    assert.equal(store.appliedIndex(), 2);
    const replay = store.applyEntry(1, { type: 'leaseGrant', leaseGrant: { id: 1n, ttlSeconds: 60 } });
    assert.deepEqual(replay, { status: 'skipped' }, 'replaying the WAL is idempotent');
  } finally {
    await temp.dispose();
  }
});

test('leases are part of snapshot and restore', async () => {
  const source = openTemp(TABLE);
  const target = openTemp(TABLE);
  try {
    grant(source.store, 1n, 60);
    source.store.put({ key: b('k'), value: b('v'), lease: 1n });
    grant(target.store, 2n, 60);
    target.store.restore(source.store.snapshot(64));
    assert.deepEqual(target.store.leaseRecords(), source.store.leaseRecords());
    assert.deepEqual(target.store.keysWithLease(1n), source.store.keysWithLease(1n));
    assert.equal(target.store.lease(2n), undefined);
  } finally {
    await Promise.all([source.dispose(), target.dispose()]);
  }
});

test("with leaseChecks 'off' any lease id is accepted and revoking an unknown lease deletes its keys", () =>
  withStore((store) => {
    store.put({ key: b('k'), value: b('v'), lease: 5n });
    const result = store.applyEntry(store.appliedIndex() + 1, { type: 'leaseRevoke', leaseId: 5n });
    assert.ok(result.status === 'applied' && result.response.type === 'leaseRevoke');
    assert.equal(result.response.leaseRevoke.deleted, 1);
  }));
