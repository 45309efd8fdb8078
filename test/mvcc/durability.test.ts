import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ApplyEntry, SnapshotFormatError } from '../../src/mvcc/index.js';
import { ALL, b, openTemp, s, withStore } from './helpers.js';

const putEntry = (index: number, key: string, value: string): ApplyEntry => ({
  index,
  request: { type: 'put', put: { key: b(key), value: b(value) } },
});

test('applying an entry at or below the applied index is a no-op', () =>
  withStore((store) => {
    assert.equal(store.applyEntry(1, putEntry(1, 'k', 'one').request).status, 'applied');
    assert.equal(store.applyEntry(2, putEntry(2, 'k', 'two').request).status, 'applied');
    assert.deepEqual(store.applyEntry(2, putEntry(2, 'k', 'again').request), { status: 'skipped' });
    assert.deepEqual(store.applyEntry(1, putEntry(1, 'k', 'again').request), { status: 'skipped' });
    assert.equal(store.appliedIndex(), 2);
    assert.equal(store.currentRevision(), 3);
    assert.equal(s(store.range({ key: b('k') }).kvs[0]!.value), 'two');
  }));

test('the applied index survives close and reopen with the state it produced', async () => {
  const temp = openTemp({ sync: 'durable' });
  try {
    temp.store.applyBatch([
      putEntry(5, 'a', '1'),
      putEntry(6, 'b', '1'),
      { index: 7, request: { type: 'noop' } },
    ]);
    const store = await temp.reopen();
    assert.equal(store.appliedIndex(), 7);
    assert.equal(store.currentRevision(), 3);
    // Replaying the WAL from an older index changes nothing.
    const replay = store.applyBatch([putEntry(5, 'a', 'x'), putEntry(6, 'b', 'x'), putEntry(8, 'c', '1')]);
    assert.deepEqual(
      replay.map((r) => r.status),
      ['skipped', 'skipped', 'applied'],
    );
    assert.deepEqual(
      store
        .range({ key: b('a'), rangeEnd: ALL })
        .kvs.map((kv) => `${s(kv.key)}=${s(kv.value)}@${kv.modRevision}`),
      ['a=1@2', 'b=1@3', 'c=1@4'],
    );
  } finally {
    await temp.dispose();
  }
});

test('a refused request in a batch advances the applied index and leaves its neighbours applied', () =>
  withStore((store) => {
    const results = store.applyBatch([
      putEntry(1, 'a', '1'),
      { index: 2, request: { type: 'put', put: { key: b('missing'), ignoreValue: true } } },
      putEntry(3, 'b', '1'),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['applied', 'failed', 'applied'],
    );
    assert.equal(store.appliedIndex(), 3);
    assert.equal(store.currentRevision(), 3);
  }));

test('snapshot then restore into a fresh store gives identical Range and HashKV results', async () => {
  const source = openTemp();
  const target = openTemp();
  try {
    for (let i = 0; i < 300; i++)
      source.store.put({ key: b(`key/${i % 37}`), value: b(`value-${i}`), lease: BigInt(i % 3) });
    source.store.deleteRange({ key: b('key/1'), rangeEnd: b('key/2') });
    source.store.compact(100);
    target.store.put({ key: b('stale'), value: b('gone after restore') });
    // Small chunks so records straddle chunk boundaries.
    target.store.restore(source.store.snapshot(1000));
    for (const revision of [0, 100, 250]) {
      assert.deepEqual(
        target.store.range({ key: b('\0'), rangeEnd: ALL, revision }),
        source.store.range({ key: b('\0'), rangeEnd: ALL, revision }),
      );
      // HashKV refuses the compact revision itself (etcd: rev <= compactRev is compacted).
      if (revision !== 100) assert.deepEqual(target.store.hashKV(revision), source.store.hashKV(revision));
    }
    assert.equal(target.store.appliedIndex(), source.store.appliedIndex());
    assert.equal(target.store.compactRevision(), 100);
    assert.deepEqual(target.store.keysWithLease(2n), source.store.keysWithLease(2n));
    assert.equal(
      target.store.put({ key: b('next'), value: b('1') }).header.revision,
      source.store.currentRevision() + 1,
    );
  } finally {
    await Promise.all([source.dispose(), target.dispose()]);
  }
});

test('restoring a corrupt or truncated snapshot fails and leaves the store unchanged', () =>
  withStore((store) => {
    store.put({ key: b('keep'), value: b('me') });
    const chunks = [...store.snapshot()].map((c) => Buffer.from(c));
    const whole = Buffer.concat(chunks);
    const corrupt = Buffer.from(whole);
    corrupt[corrupt.length - 10] = corrupt[corrupt.length - 10]! ^ 0xff;
    assert.throws(() => store.restore([corrupt]), SnapshotFormatError);
    assert.throws(() => store.restore([whole.subarray(0, whole.length - 3)]), SnapshotFormatError);
    assert.throws(() => store.restore([b('garbage!')]), SnapshotFormatError);
    assert.equal(s(store.range({ key: b('keep') }).kvs[0]!.value), 'me');
    assert.equal(store.currentRevision(), 2);
  }));
