import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactedError, FutureRevisionError, type MvccStore } from '../../src/mvcc/index.js';
import { ALL, b, keysOf, s, withStore } from './helpers.js';

function history(store: MvccStore): void {
  store.put({ key: b('a'), value: b('a1') }); // 2
  store.put({ key: b('b'), value: b('b1') }); // 3
  store.put({ key: b('a'), value: b('a2') }); // 4
  store.deleteRange({ key: b('b') }); // 5
  store.put({ key: b('c'), value: b('c1') }); // 6
  store.put({ key: b('a'), value: b('a3') }); // 7
}

test('compaction keeps the latest revision of each key at or below it and drops tombstones', () =>
  withStore((store) => {
    history(store);
    store.compact(5);
    assert.equal(store.compactRevision(), 5);
    const at5 = store.range({ key: b('a'), rangeEnd: ALL, revision: 5 });
    assert.deepEqual(keysOf(at5.kvs), ['a']);
    assert.equal(s(at5.kvs[0]!.value), 'a2');
    // b's tombstone (5) and everything before went; a2 (4) and later revisions stay.
    const events = store.changesSince(5, b('a'), ALL, 0).events;
    assert.deepEqual(
      events.map((e) => `${s(e.kv.key)}@${e.kv.modRevision}`),
      ['c@6', 'a@7'],
    );
    assert.equal(store.getAt(b('a'), 5)?.modRevision, 4);
    assert.equal(store.getAt(b('b'), 5), undefined);
    assert.equal(s(store.range({ key: b('a') }).kvs[0]!.value), 'a3');
    assert.equal(store.currentRevision(), 7, 'compaction does not bump the revision');
  }));

test('compaction at or below the compact revision fails with ErrCompacted', () =>
  withStore((store) => {
    history(store);
    store.compact(4);
    assert.throws(() => store.compact(4), CompactedError);
    assert.throws(() => store.compact(3), CompactedError);
  }));

test('compaction beyond the current revision fails with ErrFutureRev', () =>
  withStore((store) => {
    history(store);
    assert.throws(() => store.compact(8), FutureRevisionError);
    assert.equal(store.compactRevision(), -1);
  }));

test('compaction response header carries the current revision', () =>
  withStore((store) => {
    history(store);
    assert.deepEqual(store.compact(6), { header: { revision: 7 } });
  }));

test('watch replay below the compact revision fails with ErrCompacted', () =>
  withStore((store) => {
    history(store);
    store.compact(5);
    assert.throws(() => store.changesSince(4, b('a'), ALL, 0), CompactedError);
  }));

test('compaction across many keys and chunks keeps exactly the live state', () =>
  withStore((store) => {
    for (let round = 0; round < 3; round++) {
      const success = [];
      for (let i = 0; i < 100; i++)
        success.push({ type: 'put' as const, put: { key: b(`k${i}`), value: b(`${round}`) } });
      for (let i = 0; i < 40; i++) store.txn({ success: success.slice(i * 2, i * 2 + 2) });
    }
    store.deleteRange({ key: b('k5'), rangeEnd: b('k6') });
    const before = store.range({ key: b('k'), rangeEnd: ALL });
    store.compact(store.currentRevision());
    assert.deepEqual(store.range({ key: b('k'), rangeEnd: ALL }), before);
    assert.equal(store.changesSince(0 + store.compactRevision(), b('k'), ALL, 0).events.length, 0);
  }));
