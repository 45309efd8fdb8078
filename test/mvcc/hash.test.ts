import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompactedError, crc32c, FutureRevisionError, type MvccStore } from '../../src/mvcc/index.js';
import { b, openTemp } from './helpers.js';

function history(store: MvccStore, lastValue: string): void {
  store.put({ key: b('a'), value: b('1') });
  store.put({ key: b('b'), value: b('2'), lease: 3n });
  store.deleteRange({ key: b('a') });
  store.txn({ success: [{ type: 'put', put: { key: b('c'), value: b(lastValue) } }] });
}

test('crc32c matches the Castagnoli check value', () => {
  assert.equal(crc32c(b('123456789')), 0xe3069283);
});

test('HashKV is equal for two stores with the same history and differs otherwise', async () => {
  const one = openTemp();
  const two = openTemp();
  const three = openTemp();
  try {
    history(one.store, 'x');
    history(two.store, 'x');
    history(three.store, 'y');
    const h1 = one.store.hashKV();
    assert.deepEqual(two.store.hashKV(), h1);
    assert.notEqual(three.store.hashKV().hash, h1.hash);
    assert.equal(h1.header.revision, 5);
    assert.equal(h1.compactRevision, -1);
    // Hashes of an earlier revision ignore later history.
    assert.equal(one.store.hashKV(4).hash, three.store.hashKV(4).hash);
  } finally {
    await Promise.all([one.dispose(), two.dispose(), three.dispose()]);
  }
});

test('HashKV is equal for two stores with the same history including a compaction', async () => {
  const one = openTemp();
  const two = openTemp();
  try {
    for (const temp of [one, two]) {
      history(temp.store, 'x');
      temp.store.put({ key: b('b'), value: b('again') }); // 6
      temp.store.compact(4);
    }
    assert.deepEqual(one.store.hashKV(6), two.store.hashKV(6));
    assert.equal(one.store.hashKV(6).compactRevision, 4);
  } finally {
    await Promise.all([one.dispose(), two.dispose()]);
  }
});

test('HashKV at a compacted or future revision fails', async () => {
  const temp = openTemp();
  try {
    history(temp.store, 'x');
    temp.store.compact(3);
    assert.throws(() => temp.store.hashKV(3), CompactedError);
    assert.throws(() => temp.store.hashKV(6), FutureRevisionError);
  } finally {
    await temp.dispose();
  }
});
