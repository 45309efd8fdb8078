import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Compare,
  CompareResult,
  CompareTarget,
  DuplicateKeyError,
  GrpcStatus,
  type MvccStore,
  type RequestOp,
  type TxnRequest,
} from '../../src/mvcc/index.js';
import { ALL, b, keysOf, s, withStore } from './helpers.js';

const put = (key: string, value = 'v'): RequestOp => ({ type: 'put', put: { key: b(key), value: b(value) } });
const get = (key: string, rangeEnd?: Uint8Array): RequestOp => ({
  type: 'range',
  range: rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd },
});
const del = (key: string, rangeEnd?: string): RequestOp => ({
  type: 'deleteRange',
  deleteRange: rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(rangeEnd) },
});
const nested = (txn: TxnRequest): RequestOp => ({ type: 'txn', txn });

function succeeds(store: MvccStore, compare: Compare): boolean {
  return store.txn({ compare: [compare] }).succeeded;
}

test('txn compare on VERSION, CREATE, MOD, VALUE and LEASE with every result', () =>
  withStore((store) => {
    store.put({ key: b('k'), value: b('m'), lease: 9n }); // 2
    store.put({ key: b('k'), value: b('m'), lease: 9n }); // 3: version 2, create 2, mod 3
    const key = b('k');
    const cases: [Compare, boolean][] = [
      [{ key, target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 2 }, true],
      [{ key, target: CompareTarget.VERSION, result: CompareResult.GREATER, version: 1 }, true],
      [{ key, target: CompareTarget.VERSION, result: CompareResult.LESS, version: 2 }, false],
      [{ key, target: CompareTarget.VERSION, result: CompareResult.NOT_EQUAL, version: 2 }, false],
      [{ key, target: CompareTarget.CREATE, result: CompareResult.EQUAL, createRevision: 2 }, true],
      [{ key, target: CompareTarget.CREATE, result: CompareResult.LESS, createRevision: 3 }, true],
      [{ key, target: CompareTarget.MOD, result: CompareResult.EQUAL, modRevision: 3 }, true],
      [{ key, target: CompareTarget.MOD, result: CompareResult.GREATER, modRevision: 3 }, false],
      [{ key, target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: b('m') }, true],
      [{ key, target: CompareTarget.VALUE, result: CompareResult.GREATER, value: b('a') }, true],
      [{ key, target: CompareTarget.VALUE, result: CompareResult.LESS, value: b('a') }, false],
      [{ key, target: CompareTarget.VALUE, result: CompareResult.NOT_EQUAL, value: b('m') }, false],
      [{ key, target: CompareTarget.LEASE, result: CompareResult.EQUAL, lease: 9n }, true],
      [{ key, target: CompareTarget.LEASE, result: CompareResult.GREATER, lease: 9n }, false],
    ];
    for (const [compare, expected] of cases)
      assert.equal(
        succeeds(store, compare),
        expected,
        JSON.stringify(compare, (_, v) => (typeof v === 'bigint' ? `${v}` : v)),
      );
  }));

test('txn compare on a missing key compares zeros, but a VALUE compare always fails', () =>
  withStore((store) => {
    const key = b('missing');
    assert.equal(
      succeeds(store, { key, target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 0 }),
      true,
    );
    assert.equal(succeeds(store, { key, target: CompareTarget.CREATE, result: CompareResult.EQUAL }), true);
    assert.equal(
      succeeds(store, {
        key,
        target: CompareTarget.VALUE,
        result: CompareResult.EQUAL,
        value: new Uint8Array(0),
      }),
      false,
    );
    assert.equal(
      succeeds(store, { key, target: CompareTarget.VALUE, result: CompareResult.NOT_EQUAL, value: b('x') }),
      false,
    );
  }));

test('txn compare with range_end holds only when every key in the range satisfies it', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1') });
    store.put({ key: b('b'), value: b('1') });
    store.put({ key: b('b'), value: b('2') });
    const all = (version: number, result: CompareResult) =>
      succeeds(store, { key: b('a'), rangeEnd: ALL, target: CompareTarget.VERSION, result, version });
    assert.equal(all(0, CompareResult.GREATER), true);
    assert.equal(all(1, CompareResult.EQUAL), false);
    assert.equal(all(3, CompareResult.LESS), true);
    assert.equal(
      succeeds(store, {
        key: b('x'),
        rangeEnd: b('z'),
        target: CompareTarget.CREATE,
        result: CompareResult.EQUAL,
      }),
      true,
    );
  }));

test('txn runs success on true compares and failure otherwise', () =>
  withStore((store) => {
    const compare: Compare = {
      key: b('k'),
      target: CompareTarget.VERSION,
      result: CompareResult.EQUAL,
      version: 0,
    };
    const first = store.txn({ compare: [compare], success: [put('k', 'first')], failure: [get('k')] });
    assert.equal(first.succeeded, true);
    assert.equal(first.responses[0]!.type, 'put');
    const second = store.txn({ compare: [compare], success: [put('k', 'second')], failure: [get('k')] });
    assert.equal(second.succeeded, false);
    const response = second.responses[0]!;
    assert.ok(response.type === 'range');
    assert.equal(s(response.range.kvs[0]!.value), 'first');
    assert.equal(second.header.revision, 2);
  }));

test('all writes of a txn share one revision with increasing sub revisions', () =>
  withStore((store) => {
    store.put({ key: b('z'), value: b('0') }); // 2
    const r = store.txn({ success: [put('a'), put('b'), del('z')] });
    assert.equal(r.header.revision, 3);
    assert.equal(store.currentRevision(), 3);
    for (const response of r.responses) {
      if (response.type === 'put') assert.equal(response.put.header.revision, 3);
      if (response.type === 'deleteRange') assert.equal(response.deleteRange.header.revision, 3);
    }
    const events = store.changesSince(3, b('\0'), ALL, 0).events;
    assert.deepEqual(keysOf(events.map((e) => e.kv)), ['a', 'b', 'z']);
  }));

test('a txn with no writes does not bump the revision', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1') });
    const r = store.txn({ success: [get('a'), del('nothing')] });
    assert.equal(r.header.revision, 2);
    assert.equal(store.currentRevision(), 2);
  }));

test('reads inside a txn see the txn’s earlier writes', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('old') }); // 2
    store.put({ key: b('b'), value: b('old') }); // 3
    const r = store.txn({ success: [get('a'), put('a', 'new'), get('a'), del('b'), get('b')] });
    const values = r.responses.map((resp) => (resp.type === 'range' ? resp.range : undefined));
    assert.equal(s(values[0]!.kvs[0]!.value), 'old');
    assert.equal(values[0]!.header.revision, 3);
    assert.equal(s(values[2]!.kvs[0]!.value), 'new');
    assert.equal(values[2]!.header.revision, 4);
    assert.equal(values[4]!.count, 0);
  }));

test('nested txns evaluate their compares before the outer txn writes', () =>
  withStore((store) => {
    const absent: Compare = {
      key: b('k'),
      target: CompareTarget.VERSION,
      result: CompareResult.EQUAL,
      version: 0,
    };
    const r = store.txn({
      success: [
        put('k', 'outer'),
        nested({ compare: [absent], success: [put('inner-yes')], failure: [put('inner-no')] }),
      ],
    });
    const inner = r.responses[1]!;
    assert.ok(inner.type === 'txn');
    assert.equal(inner.txn.succeeded, true, 'the nested compare saw k absent, as before the txn');
    assert.equal(inner.txn.header.revision, 0, 'nested headers stay 0, as in etcd');
    assert.equal(r.header.revision, 2);
    assert.deepEqual(keysOf(store.range({ key: b('\0'), rangeEnd: ALL }).kvs), ['inner-yes', 'k']);
  }));

test('duplicate key in a txn fails with "duplicate key given in txn request"', () =>
  withStore((store) => {
    const check = (txn: TxnRequest) =>
      assert.throws(
        () => store.txn(txn),
        (e: unknown) => {
          assert.ok(e instanceof DuplicateKeyError);
          assert.equal(e.code, GrpcStatus.InvalidArgument);
          assert.equal(e.message, 'etcdserver: duplicate key given in txn request');
          return true;
        },
      );
    check({ success: [put('a'), put('a')] });
    check({ failure: [put('b'), del('a', 'c')] });
    check({ success: [del('a'), put('a')] });
    check({ success: [put('a'), nested({ success: [put('a')] })] });
    check({ success: [del('a', 'c'), nested({ failure: [put('b')] })] });
    check({ success: [nested({ success: [del('a')] }), put('a')] });
    check({ success: [nested({ success: [put('a')] }), nested({ failure: [put('a')] })] });
    assert.equal(store.currentRevision(), 1);
  }));

test('txn overlap rules that etcd allows', () =>
  withStore((store) => {
    // then/else of one nested txn may both put a key; deletes may overlap; get + put is fine.
    store.txn({ success: [nested({ success: [put('a')], failure: [put('a')] })] });
    store.txn({ success: [del('a', 'c'), del('b')] });
    store.txn({ success: [get('a'), put('a')] });
    // etcd compares a delete's range_end "\0" as a literal string, so it overlaps nothing.
    store.txn({ success: [{ type: 'deleteRange', deleteRange: { key: b('a'), rangeEnd: ALL } }, put('b')] });
    assert.deepEqual(keysOf(store.range({ key: b('a'), rangeEnd: ALL }).kvs), ['b']);
  }));

test('txn ignore_value on a missing key fails and writes nothing', () =>
  withStore((store) => {
    assert.throws(
      () => store.txn({ success: [put('x'), { type: 'put', put: { key: b('y'), ignoreValue: true } }] }),
      { message: 'etcdserver: key not found' },
    );
    assert.equal(store.currentRevision(), 1);
    assert.equal(store.range({ key: b('x') }).count, 0);
  }));

test('txn range at a future or compacted revision fails before writing', () =>
  withStore((store) => {
    store.put({ key: b('a'), value: b('1') }); // 2
    store.put({ key: b('a'), value: b('2') }); // 3
    store.compact(3);
    assert.throws(
      () => store.txn({ success: [put('b'), { type: 'range', range: { key: b('a'), revision: 4 } }] }),
      {
        message: 'etcdserver: mvcc: required revision is a future revision',
      },
    );
    assert.throws(
      () => store.txn({ success: [put('b'), { type: 'range', range: { key: b('a'), revision: 2 } }] }),
      {
        message: 'etcdserver: mvcc: required revision has been compacted',
      },
    );
    assert.equal(store.currentRevision(), 3);
  }));

test('too many operations in a txn are rejected', () =>
  withStore(
    (store) => {
      assert.throws(() => store.txn({ success: [put('a'), put('b'), put('c')] }), {
        message: 'etcdserver: too many operations in txn request',
      });
    },
    { maxTxnOps: 2 },
  ));
