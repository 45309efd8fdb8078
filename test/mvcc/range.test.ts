import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CompactedError,
  FutureRevisionError,
  GrpcStatus,
  SortOrder,
  SortTarget,
} from '../../src/mvcc/index.js';
import { ALL, b, keysOf, s, withStore } from './helpers.js';

function seed(store: import('../../src/mvcc/index.js').MvccStore): void {
  // revisions 2..6
  for (const k of ['a', 'b', 'c', 'd', 'e']) store.put({ key: b(k), value: b(`v-${k}`) });
}

test('fresh store is at revision 1 and never compacted', () =>
  withStore((store) => {
    assert.equal(store.currentRevision(), 1);
    assert.equal(store.compactRevision(), -1);
    const r = store.range({ key: b('a') });
    assert.deepEqual(r, { header: { revision: 1 }, kvs: [], more: false, count: 0 });
  }));

test('range with empty range_end reads the single key', () =>
  withStore((store) => {
    seed(store);
    const r = store.range({ key: b('b') });
    assert.deepEqual(keysOf(r.kvs), ['b']);
    assert.equal(s(r.kvs[0]!.value), 'v-b');
    assert.equal(r.kvs[0]!.createRevision, 3);
    assert.equal(r.kvs[0]!.modRevision, 3);
    assert.equal(r.kvs[0]!.version, 1);
    assert.equal(r.count, 1);
    assert.equal(r.header.revision, 6);
  }));

test('range [key, range_end) excludes range_end', () =>
  withStore((store) => {
    seed(store);
    assert.deepEqual(keysOf(store.range({ key: b('b'), rangeEnd: b('d') }).kvs), ['b', 'c']);
    assert.deepEqual(keysOf(store.range({ key: b('d'), rangeEnd: b('b') }).kvs), []);
  }));

test('range over a prefix (range_end = prefix + 1)', () =>
  withStore((store) => {
    for (const k of ['foo', 'foo/a', 'foo/b', 'fop', 'fo']) store.put({ key: b(k), value: b('x') });
    assert.deepEqual(keysOf(store.range({ key: b('foo/'), rangeEnd: b('foo0') }).kvs), ['foo/a', 'foo/b']);
  }));

test('range_end "\\0" means every key >= key; key "\\0" with it means all keys', () =>
  withStore((store) => {
    seed(store);
    store.put({ key: new Uint8Array([0, 1]), value: b('z') });
    assert.deepEqual(keysOf(store.range({ key: b('c'), rangeEnd: ALL }).kvs), ['c', 'd', 'e']);
    assert.equal(store.range({ key: ALL, rangeEnd: ALL }).count, 6);
  }));

test('limit truncates, sets more, and count is the total before limit', () =>
  withStore((store) => {
    seed(store);
    const r = store.range({ key: b('a'), rangeEnd: ALL, limit: 2 });
    assert.deepEqual(keysOf(r.kvs), ['a', 'b']);
    assert.equal(r.more, true);
    assert.equal(r.count, 5);
    const exact = store.range({ key: b('a'), rangeEnd: ALL, limit: 5 });
    assert.equal(exact.more, false);
    assert.equal(exact.kvs.length, 5);
  }));

test('limit applies after sorting', () =>
  withStore((store) => {
    seed(store);
    const r = store.range({ key: b('a'), rangeEnd: ALL, limit: 2, sortOrder: SortOrder.DESCEND });
    assert.deepEqual(keysOf(r.kvs), ['e', 'd']);
    assert.equal(r.more, true);
    assert.equal(r.count, 5);
  }));

test('sort by every target in both orders', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('3') }); // rev 2
    store.put({ key: b('b'), value: b('1') }); // rev 3
    store.put({ key: b('c'), value: b('2') }); // rev 4
    store.put({ key: b('b'), value: b('4') }); // rev 5: b version 2, mod 5
    store.put({ key: b('a'), value: b('0') }); // rev 6: a version 2, mod 6
    store.put({ key: b('a'), value: b('5') }); // rev 7: a version 3, mod 7
    const sorted = (sortTarget: SortTarget, sortOrder: SortOrder) =>
      keysOf(store.range({ key: b('a'), rangeEnd: ALL, sortTarget, sortOrder }).kvs);
    assert.deepEqual(sorted(SortTarget.KEY, SortOrder.ASCEND), ['a', 'b', 'c']);
    assert.deepEqual(sorted(SortTarget.KEY, SortOrder.DESCEND), ['c', 'b', 'a']);
    assert.deepEqual(sorted(SortTarget.VERSION, SortOrder.ASCEND), ['c', 'b', 'a']);
    assert.deepEqual(sorted(SortTarget.VERSION, SortOrder.DESCEND), ['a', 'b', 'c']);
    assert.deepEqual(sorted(SortTarget.CREATE, SortOrder.ASCEND), ['a', 'b', 'c']);
    assert.deepEqual(sorted(SortTarget.CREATE, SortOrder.DESCEND), ['c', 'b', 'a']);
    assert.deepEqual(sorted(SortTarget.MOD, SortOrder.ASCEND), ['c', 'b', 'a']);
    assert.deepEqual(sorted(SortTarget.MOD, SortOrder.DESCEND), ['a', 'b', 'c']);
    assert.deepEqual(sorted(SortTarget.VALUE, SortOrder.ASCEND), ['c', 'b', 'a']);
    assert.deepEqual(sorted(SortTarget.VALUE, SortOrder.DESCEND), ['a', 'b', 'c']);
  }));

test('a non-key sort target without an order sorts ascending', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('2') });
    store.put({ key: b('b'), value: b('1') });
    const r = store.range({ key: b('a'), rangeEnd: ALL, sortTarget: SortTarget.VALUE });
    assert.deepEqual(keysOf(r.kvs), ['b', 'a']);
  }));

test('sort ties keep ascending key order', () =>
  withStore((store) => {
    seed(store);
    const r = store.range({
      key: b('a'),
      rangeEnd: ALL,
      sortTarget: SortTarget.VERSION,
      sortOrder: SortOrder.DESCEND,
    });
    assert.deepEqual(keysOf(r.kvs), ['a', 'b', 'c', 'd', 'e']);
  }));

test('range at a past revision sees the store as it was', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1') }); // 2
    store.put({ key: b('b'), value: b('1') }); // 3
    store.put({ key: b('a'), value: b('2') }); // 4
    store.deleteRange({ key: b('b') }); // 5
    store.put({ key: b('c'), value: b('1') }); // 6
    const at3 = store.range({ key: b('a'), rangeEnd: ALL, revision: 3 });
    assert.deepEqual(keysOf(at3.kvs), ['a', 'b']);
    assert.equal(s(at3.kvs[0]!.value), '1');
    assert.equal(at3.header.revision, 6);
    const at5 = store.range({ key: b('a'), rangeEnd: ALL, revision: 5 });
    assert.deepEqual(keysOf(at5.kvs), ['a']);
    assert.equal(at5.kvs[0]!.version, 2);
    assert.equal(s(store.range({ key: b('a'), revision: 2 }).kvs[0]!.value), '1');
    assert.equal(store.range({ key: b('b'), revision: 5 }).count, 0);
    assert.equal(store.range({ key: b('a'), rangeEnd: ALL, revision: 4, limit: 1 }).count, 2);
  }));

test('range at a future revision fails with ErrFutureRev', () =>
  withStore((store) => {
    seed(store);
    assert.throws(
      () => store.range({ key: b('a'), revision: 7 }),
      (e: unknown) => {
        assert.ok(e instanceof FutureRevisionError);
        assert.equal(e.code, GrpcStatus.OutOfRange);
        assert.equal(e.message, 'etcdserver: mvcc: required revision is a future revision');
        return true;
      },
    );
  }));

test('range below the compact revision fails with ErrCompacted; at it succeeds', () =>
  withStore((store) => {
    seed(store);
    store.compact(4);
    assert.throws(
      () => store.range({ key: b('a'), revision: 3 }),
      (e: unknown) => {
        assert.ok(e instanceof CompactedError);
        assert.equal(e.code, GrpcStatus.OutOfRange);
        assert.equal(e.message, 'etcdserver: mvcc: required revision has been compacted');
        return true;
      },
    );
    assert.deepEqual(keysOf(store.range({ key: b('a'), rangeEnd: ALL, revision: 4 }).kvs), ['a', 'b', 'c']);
  }));

test('keys_only drops values; count_only returns only the count', () =>
  withStore((store) => {
    seed(store);
    const keysOnly = store.range({ key: b('a'), rangeEnd: ALL, keysOnly: true });
    assert.deepEqual(keysOf(keysOnly.kvs), ['a', 'b', 'c', 'd', 'e']);
    assert.ok(keysOnly.kvs.every((kv) => kv.value.length === 0 && kv.version === 1));
    const countOnly = store.range({ key: b('a'), rangeEnd: ALL, countOnly: true, limit: 2 });
    assert.deepEqual(countOnly.kvs, []);
    assert.equal(countOnly.count, 5);
    assert.equal(countOnly.more, false);
  }));

test('min/max mod and create revision filters prune kvs but not count', () =>
  withStore((store) => {
    seed(store); // a..e created at 2..6
    store.put({ key: b('a'), value: b('again') }); // a mod 7
    const mod = store.range({ key: b('a'), rangeEnd: ALL, minModRevision: 4, maxModRevision: 6 });
    assert.deepEqual(keysOf(mod.kvs), ['c', 'd', 'e']);
    assert.equal(mod.count, 5);
    const create = store.range({ key: b('a'), rangeEnd: ALL, minCreateRevision: 3, maxCreateRevision: 4 });
    assert.deepEqual(keysOf(create.kvs), ['b', 'c']);
    const limited = store.range({ key: b('a'), rangeEnd: ALL, minModRevision: 4, limit: 2 });
    assert.deepEqual(keysOf(limited.kvs), ['a', 'c']); // a was modified at 7
    assert.equal(limited.more, true);
  }));

test('empty key is rejected with "key is not provided"', () =>
  withStore((store) => {
    assert.throws(() => store.range({ key: new Uint8Array(0) }), {
      message: 'etcdserver: key is not provided',
    });
  }));
