import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lessor, LessorNotPrimaryError, type LessorOptions } from '../../src/lease/index.js';
import {
  type ApplyRequest,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseTtlTooLargeError,
  type MvccStore,
} from '../../src/mvcc/index.js';
import { SeededRng } from '../../src/raft/rng.js';
import { ALL, b, keysOf, openTemp, type TempStore } from '../mvcc/helpers.js';

interface Fixture {
  temp: TempStore;
  clock: { nowMs: number; now(): number };
  lessor: Lessor;
  apply(request: ApplyRequest): void;
  grant(ttlSeconds: number, id?: bigint): bigint;
  newLessor(): Lessor;
}

async function withLessor(
  body: (f: Fixture) => void | Promise<void>,
  options: Partial<LessorOptions> = {},
): Promise<void> {
  const temp = openTemp({ leaseChecks: 'table' });
  const clock = {
    nowMs: 1_000_000,
    now() {
      return this.nowMs;
    },
  };
  const newLessor = () =>
    new Lessor({ table: temp.store, clock, rng: new SeededRng(1), minTtlSeconds: 2, ...options });
  const fixture: Fixture = {
    temp,
    clock,
    lessor: newLessor(),
    apply(request) {
      const store: MvccStore = temp.store;
      const result = store.applyEntry(store.appliedIndex() + 1, request);
      if (result.status === 'failed') throw result.error;
      fixture.lessor.applied(request, result);
    },
    grant(ttlSeconds, id = 0n) {
      const prepared = fixture.lessor.prepareGrant(BigInt(ttlSeconds), id);
      fixture.apply({ type: 'leaseGrant', leaseGrant: prepared });
      return prepared.id;
    },
    newLessor,
  };
  try {
    await body(fixture);
  } finally {
    await temp.dispose();
  }
}

test('prepareGrant: id 0 draws a random positive int64 from the injected rng, before proposing', () =>
  withLessor((f) => {
    const first = f.lessor.prepareGrant(10n, 0n);
    const again = f.newLessor().prepareGrant(10n, 0n);
    assert.equal(first.id, again.id, 'same seed, same id');
    assert.ok(first.id > 0n && first.id < 1n << 63n);
    assert.equal(f.lessor.prepareGrant(10n, 42n).id, 42n);
  }));

test('prepareGrant: TTL raised to minTtlSeconds; too large or id in use refused with etcd errors', () =>
  withLessor((f) => {
    assert.equal(f.lessor.prepareGrant(1n, 5n).ttlSeconds, 2);
    assert.equal(f.lessor.prepareGrant(-4n, 5n).ttlSeconds, 2);
    assert.throws(() => f.lessor.prepareGrant(9_000_000_001n, 5n), LeaseTtlTooLargeError);
    f.grant(10, 5n);
    assert.throws(() => f.lessor.prepareGrant(10n, 5n), LeaseExistsError);
  }));

test('followers make no expiry decisions; the leader does after promote', () =>
  withLessor((f) => {
    const id = f.grant(10);
    f.clock.nowMs += 60_000;
    assert.deepEqual(f.lessor.expiredLeases(f.clock.nowMs, 10), []);
    assert.throws(() => f.lessor.keepAlive(id, f.clock.nowMs), LessorNotPrimaryError);
    f.lessor.promote(f.clock.nowMs);
    assert.deepEqual(f.lessor.expiredLeases(f.clock.nowMs + 9_999, 10), []);
    assert.deepEqual(f.lessor.expiredLeases(f.clock.nowMs + 10_000, 10), [id]);
    f.lessor.demote();
    assert.deepEqual(f.lessor.expiredLeases(f.clock.nowMs + 20_000, 10), []);
  }));

test('keepAlive renews to the full TTL on the leader; unknown ids fail with "requested lease not found"', () =>
  withLessor((f) => {
    f.lessor.promote(f.clock.nowMs);
    const id = f.grant(10);
    const t0 = f.clock.nowMs;
    assert.deepEqual(f.lessor.keepAlive(id, t0 + 8_000), {
      status: 'renewed',
      ttlSeconds: 10,
      clearCheckpoint: undefined,
    });
    assert.deepEqual(f.lessor.expiredLeases(t0 + 17_999, 10), []);
    assert.deepEqual(f.lessor.expiredLeases(t0 + 18_000, 10), [id]);
    assert.deepEqual(f.lessor.keepAlive(id, t0 + 18_000), { status: 'expired' });
    assert.throws(
      () => f.lessor.keepAlive(123n, t0),
      (e: unknown) => {
        assert.ok(e instanceof LeaseNotFoundError);
        assert.equal(e.message, 'etcdserver: requested lease not found');
        return true;
      },
    );
  }));

test('expiredLeases is rate limited by maxRevokesPerSecond and re-offers unrevoked leases later', () =>
  withLessor(
    (f) => {
      f.lessor.promote(f.clock.nowMs);
      const ids = Array.from({ length: 5 }, () => f.grant(2));
      const t = f.clock.nowMs + 2_000;
      const first = f.lessor.expiredLeases(t, 100);
      assert.equal(first.length, 2, 'the bucket holds one second of revokes');
      assert.deepEqual(f.lessor.expiredLeases(t, 100), []);
      const second = f.lessor.expiredLeases(t + 1_000, 1);
      assert.equal(second.length, 1, 'and the caller limit applies');
      f.apply({ type: 'leaseRevoke', leaseId: first[0]! });
      // first[1] was offered but never revoked: it comes back after expiredLeaseRetryMs; the
      // revoked first[0] does not.
      const later: bigint[] = [];
      for (let s = 10; s < 15; s++) later.push(...f.lessor.expiredLeases(t + s * 1_000, 100));
      assert.ok(later.includes(first[1]!));
      assert.ok(!later.includes(first[0]!));
      assert.deepEqual(new Set([...first, ...second, ...later]), new Set(ids));
    },
    { maxRevokesPerSecond: 2, expiredLeaseRetryMs: 3_000 },
  ));

test('revoking a lease deletes its keys in one revision and forgets the lease', () =>
  withLessor((f) => {
    const id = f.grant(10);
    f.apply({ type: 'put', put: { key: b('a'), value: b('1'), lease: id } });
    f.apply({ type: 'put', put: { key: b('b'), value: b('1'), lease: id } });
    f.apply({ type: 'put', put: { key: b('c'), value: b('1') } });
    const before = f.temp.store.currentRevision();
    assert.equal(f.lessor.timeToLive(id, true).keys.length, 2);
    f.apply({ type: 'leaseRevoke', leaseId: id });
    assert.equal(f.temp.store.currentRevision(), before + 1);
    assert.deepEqual(keysOf(f.temp.store.range({ key: b('a'), rangeEnd: ALL }).kvs), ['c']);
    assert.equal(f.lessor.has(id), false);
    assert.equal(f.lessor.timeToLive(id, false).TTL, '-1');
  }));

test('timeToLive and leases are shaped like the etcd responses', () =>
  withLessor((f) => {
    f.lessor.promote(f.clock.nowMs);
    const id = f.grant(30, 77n);
    f.grant(60, 78n);
    f.apply({ type: 'put', put: { key: b('k'), value: b('v'), lease: id } });
    f.clock.nowMs += 10_500;
    assert.deepEqual(f.lessor.timeToLive(id, true), {
      ID: '77',
      TTL: '19',
      grantedTTL: '30',
      keys: [Buffer.from('k')],
    });
    assert.deepEqual(f.lessor.timeToLive(id, false).keys, []);
    assert.deepEqual(f.lessor.timeToLive(5n, true), { ID: '5', TTL: '-1', grantedTTL: '0', keys: [] });
    assert.deepEqual(f.lessor.leases(), { leases: [{ ID: '77' }, { ID: '78' }] });
  }));

test('checkpoints carry the remaining TTL across a leader change (within the checkpoint interval)', () =>
  withLessor(
    (f) => {
      const t0 = f.clock.nowMs;
      f.lessor.promote(t0);
      const id = f.grant(100);
      const short = f.grant(5); // shorter than the interval: never checkpointed
      assert.deepEqual(f.lessor.checkpointsDue(t0 + 9_999), []);
      const due = f.lessor.checkpointsDue(t0 + 10_000);
      assert.deepEqual(due, [{ id, remainingTtlSeconds: 90 }]);
      f.apply({ type: 'leaseCheckpoint', leaseCheckpoint: { checkpoints: due } });
      assert.equal(f.temp.store.lease(id)!.remainingTtlSeconds, 90);
      assert.ok(!due.some((c) => c.id === short));

      // The leader fails at t0 + 15s; a new leader promotes from the table at t0 + 20s.
      f.lessor.demote();
      const next = f.newLessor();
      const t1 = t0 + 20_000;
      next.promote(t1);
      // Without checkpoints it would expire at t1 + 100s; with them at t1 + 90s. The true
      // expiry was t0 + 100s = t1 + 80s: off by less than the checkpoint interval.
      assert.deepEqual(next.expiredLeases(t1 + 89_999, 10), [short]);
      assert.deepEqual(next.expiredLeases(t1 + 90_000, 10), [id]);
    },
    { checkpointIntervalMs: 10_000 },
  ));

test('a renewal clears a checkpointed TTL so a later leader restarts from the full TTL', () =>
  withLessor(
    (f) => {
      const t0 = f.clock.nowMs;
      f.lessor.promote(t0);
      const id = f.grant(100);
      const due = f.lessor.checkpointsDue(t0 + 10_000);
      f.apply({ type: 'leaseCheckpoint', leaseCheckpoint: { checkpoints: due } });
      const renewed = f.lessor.keepAlive(id, t0 + 11_000);
      assert.ok(renewed.status === 'renewed');
      assert.deepEqual(renewed.clearCheckpoint, { id, remainingTtlSeconds: 0 });
      f.apply({ type: 'leaseCheckpoint', leaseCheckpoint: { checkpoints: [renewed.clearCheckpoint!] } });
      const next = f.newLessor();
      next.promote(t0 + 12_000);
      assert.deepEqual(next.expiredLeases(t0 + 12_000 + 99_999, 10), []);
      assert.deepEqual(next.expiredLeases(t0 + 12_000 + 100_000, 10), [id]);
    },
    { checkpointIntervalMs: 10_000 },
  ));

test('a restarted node rebuilds its leases from the table', () =>
  withLessor(async (f) => {
    const a = f.grant(30, 1n);
    const bId = f.grant(40, 2n);
    f.apply({
      type: 'leaseCheckpoint',
      leaseCheckpoint: { checkpoints: [{ id: bId, remainingTtlSeconds: 25 }] },
    });
    const store = await f.temp.reopen();
    const restarted = new Lessor({ table: store, clock: f.clock, rng: new SeededRng(2), minTtlSeconds: 2 });
    assert.equal(restarted.size(), 2);
    assert.equal(restarted.isPrimary(), false);
    restarted.promote(f.clock.nowMs);
    assert.equal(restarted.timeToLive(a, false).TTL, '30');
    assert.equal(restarted.timeToLive(bId, false).TTL, '25');
  }));

test('lessor options are validated with named errors', () => {
  assert.throws(
    () =>
      new Lessor({
        table: { leaseRecords: () => [], lease: () => undefined, keysWithLease: () => [] },
        clock: { now: () => 0 },
        rng: new SeededRng(1),
        minTtlSeconds: 0,
      }),
    /minTtlSeconds/,
  );
});
