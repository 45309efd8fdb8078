// RequestTable (src/server/request-table.ts): the pending writes by request id, in a ring.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestTable } from '../../src/server/request-table.js';

test('ids added in order are found, removed in any order, and the oldest is tracked', () => {
  const table = new RequestTable<string>();
  assert.equal(table.oldestId(), -1);
  for (const id of [5, 6, 9]) table.set(id, `w${id}`);
  assert.equal(table.size, 3);
  assert.equal(table.get(6), 'w6');
  assert.equal(table.get(7), undefined, 'an id skipped on the way is absent');
  assert.equal(table.get(4), undefined);
  assert.equal(table.get(10), undefined);
  assert.equal(table.oldestId(), 5);

  assert.equal(table.delete(6), true);
  assert.equal(table.delete(6), false, 'a second delete finds nothing');
  assert.equal(table.oldestId(), 5);
  assert.equal(table.delete(5), true);
  assert.equal(table.oldestId(), 9, 'the oldest skips the holes left behind');
  assert.equal(table.delete(9), true);
  assert.equal(table.size, 0);
  assert.equal(table.oldestId(), -1);

  table.set(12, 'w12');
  assert.equal(table.oldestId(), 12);
  assert.throws(() => table.set(12, 'again'), /request ids must increase/);
  assert.throws(() => table.set(3, 'old'), /request ids must increase/);
});

test('a long-pending write keeps its place while thousands pass it: the ring grows and wraps', () => {
  const table = new RequestTable<number>();
  table.set(1, 1);
  // Far more than the initial 1,024 slots behind one write that stays pending.
  for (let id = 2; id <= 5_000; id++) {
    table.set(id, id);
    if (id > 10) assert.equal(table.delete(id - 8), true);
  }
  assert.equal(table.get(1), 1);
  assert.equal(table.oldestId(), 1);
  assert.equal(table.size, 1 + 1 + 8); // write 1, id 2 (never deleted: deletes start at 3), the last 8
  for (let id = 4_993; id <= 5_000; id++) assert.equal(table.get(id), id);
  assert.equal(table.delete(1), true);
  assert.equal(table.oldestId(), 2);

  // After the span shrinks, ids far beyond the array's length map onto reused slots correctly.
  const drained = table.drain();
  assert.deepEqual(drained, [2, 4_993, 4_994, 4_995, 4_996, 4_997, 4_998, 4_999, 5_000]);
  assert.equal(table.size, 0);
  assert.equal(table.oldestId(), -1);
  for (let id = 1_000_000; id < 1_003_000; id++) {
    table.set(id, id);
    assert.equal(table.get(id), id);
    assert.equal(table.delete(id), true);
  }
  assert.equal(table.get(1_000_500), undefined);
  assert.equal(table.size, 0);
});

test('ids past 2^31 work (a busy member hands out that many in a few days)', () => {
  const table = new RequestTable<string>();
  const base = 2 ** 31 - 2;
  for (let id = base; id < base + 5; id++) table.set(id, `w${id}`);
  assert.equal(table.get(base + 3), `w${base + 3}`);
  assert.equal(table.delete(base), true);
  assert.equal(table.oldestId(), base + 1);
});
