// The list-append checker against hand-built histories, one per anomaly it must name, plus the
// histories it must accept: a checker that cannot fail proves nothing (TESTING.md).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AnomalyType,
  checkListAppend,
  ListAppendHistoryError,
  type ListAppendMicroOp,
  type ListAppendResult,
  type ListAppendTransaction,
  stronglyConnectedComponents,
} from '../../src/check/list-append.js';

const append = (key: string, value: number): ListAppendMicroOp => ({ f: 'append', key, value });
const read = (key: string, value: number[] | null = null): ListAppendMicroOp => ({ f: 'read', key, value });

function ok(
  id: number,
  callMs: number,
  returnMs: number,
  ...ops: ListAppendMicroOp[]
): ListAppendTransaction {
  return { id, outcome: 'ok', ops, callMs, returnMs };
}
function info(id: number, callMs: number, ...ops: ListAppendMicroOp[]): ListAppendTransaction {
  return { id, outcome: 'info', ops, callMs };
}
function fail(
  id: number,
  callMs: number,
  returnMs: number,
  ...ops: ListAppendMicroOp[]
): ListAppendTransaction {
  return { id, outcome: 'fail', ops, callMs, returnMs };
}

function anomalyTypes(result: ListAppendResult): readonly AnomalyType[] {
  assert.equal(result.valid, false, `expected an anomaly, got ${JSON.stringify(result)}`);
  return result.valid === false ? result.anomalyTypes : [];
}

describe('list-append: histories that are strictly serializable', () => {
  test('a serial history is valid', () => {
    const result = checkListAppend([
      ok(1, 0, 1, append('x', 1)),
      ok(2, 2, 3, read('x', [1]), append('y', 2), read('y', [2])),
      ok(3, 4, 5, read('y', [2]), read('x', [1]), append('x', 3)),
      ok(4, 6, 7, read('x', [1, 3])),
    ]);
    assert.deepEqual(result, {
      valid: true,
      transactions: 4,
      edges: result.valid === true ? result.edges : 0,
    });
  });

  test('concurrent transactions may serialize in either order', () => {
    const result = checkListAppend([
      ok(1, 0, 10, append('x', 1)),
      ok(2, 0, 10, read('x', [])),
      ok(3, 20, 21, read('x', [1])),
    ]);
    assert.equal(result.valid, true);
  });

  test('an indefinite append may have happened (observed) or not (never seen)', () => {
    const result = checkListAppend([
      info(1, 0, append('x', 1)),
      info(2, 0, append('x', 2)),
      ok(3, 5, 6, read('x', [1])),
      fail(4, 0, 1, append('x', 9)),
    ]);
    assert.equal(result.valid, true);
  });

  test('intervals that only touch are concurrent', () => {
    const result = checkListAppend([
      ok(1, 0, 5, append('x', 1)),
      ok(2, 5, 6, read('x', [])),
      ok(3, 9, 10, read('x', [1])),
    ]);
    assert.equal(result.valid, true);
  });
});

describe('list-append: anomalies are detected and named', () => {
  test('G0: write cycle (x orders T1 before T2, y the reverse)', () => {
    const result = checkListAppend([
      ok(1, 0, 10, append('x', 1), append('y', 2)),
      ok(2, 0, 10, append('x', 3), append('y', 4)),
      ok(3, 20, 21, read('x', [1, 3]), read('y', [4, 2])),
    ]);
    assert.deepEqual(anomalyTypes(result), ['G0']);
    assert.ok(result.valid === false && result.anomalies[0].cycle?.every((s) => s.kind === 'ww'));
  });

  test("G1c: each transaction read the other one's write", () => {
    const result = checkListAppend([
      ok(1, 0, 10, append('x', 1), read('y', [2])),
      ok(2, 0, 10, append('y', 2), read('x', [1])),
    ]);
    assert.deepEqual(anomalyTypes(result), ['G1c']);
  });

  test('G-single: a lost update (both read [], both appended)', () => {
    const result = checkListAppend([
      ok(1, 0, 10, read('x', []), append('x', 1)),
      ok(2, 0, 10, read('x', []), append('x', 2)),
      ok(3, 20, 21, read('x', [1, 2])),
    ]);
    assert.deepEqual(anomalyTypes(result), ['G-single']);
    const kinds = result.valid === false ? result.anomalies[0].cycle?.map((s) => s.kind).sort() : [];
    assert.deepEqual(kinds, ['rw', 'ww']);
  });

  test('G2: write skew (two anti-dependencies)', () => {
    const result = checkListAppend([
      ok(1, 0, 10, read('x', []), append('y', 1)),
      ok(2, 0, 10, read('y', []), append('x', 2)),
      ok(3, 20, 21, read('x', [2]), read('y', [1])),
    ]);
    assert.deepEqual(anomalyTypes(result), ['G2']);
  });

  test('real time: a read that began after an append completed misses it', () => {
    const result = checkListAppend([
      ok(1, 0, 1, append('x', 1)),
      ok(2, 2, 3, read('x', [])),
      ok(3, 4, 5, read('x', [1])),
    ]);
    assert.deepEqual(anomalyTypes(result), ['G-single-realtime']);
    const kinds = result.valid === false ? result.anomalies[0].cycle?.map((s) => s.kind).sort() : [];
    assert.deepEqual(kinds, ['rt', 'rw']);
  });

  test('real time through a chain: T1 < T2 < T3, and T3 misses T1', () => {
    const result = checkListAppend([
      ok(1, 0, 1, append('x', 1)),
      ok(2, 2, 3, append('y', 2)),
      ok(3, 4, 5, read('x', [])),
      ok(4, 6, 7, read('x', [1]), read('y', [2])),
    ]);
    assert.deepEqual(anomalyTypes(result), ['G-single-realtime']);
  });

  test('lost append: an acknowledged append no later read shows', () => {
    const result = checkListAppend([ok(1, 0, 1, append('x', 1)), ok(2, 2, 3, read('x', []))]);
    assert.deepEqual(anomalyTypes(result), ['lost-append']);
  });

  test('aborted read: a value appended by a failed transaction is read', () => {
    const result = checkListAppend([fail(1, 0, 1, append('x', 1)), ok(2, 2, 3, read('x', [1]))]);
    assert.deepEqual(anomalyTypes(result), ['aborted-read']);
  });

  test('incompatible order: two reads that are not prefixes of one list', () => {
    const result = checkListAppend([
      ok(1, 0, 10, append('x', 1)),
      ok(2, 0, 10, append('x', 2)),
      ok(3, 20, 21, read('x', [1, 2])),
      ok(4, 20, 21, read('x', [2, 1])),
    ]);
    assert.ok(anomalyTypes(result).includes('incompatible-order'));
  });

  test('duplicate element, unknown value, intermediate read and internal inconsistency', () => {
    assert.ok(
      anomalyTypes(checkListAppend([ok(1, 0, 1, append('x', 1)), ok(2, 2, 3, read('x', [1, 1]))])).includes(
        'duplicate-element',
      ),
    );
    assert.ok(anomalyTypes(checkListAppend([ok(1, 0, 1, read('x', [7]))])).includes('unknown-value'));
    assert.ok(
      anomalyTypes(
        checkListAppend([
          ok(1, 0, 10, append('x', 1), append('x', 2)),
          ok(2, 0, 10, read('x', [1])),
          ok(3, 20, 21, read('x', [1, 2])),
        ]),
      ).includes('intermediate-read'),
    );
    assert.ok(
      anomalyTypes(checkListAppend([ok(1, 0, 1, read('x', []), append('x', 1), read('x', []))])).includes(
        'internal',
      ),
    );
  });

  test('an observed indefinite append is committed: it can close a cycle', () => {
    const result = checkListAppend([
      info(1, 0, append('x', 1), append('y', 2)),
      ok(2, 0, 10, append('x', 3), append('y', 4)),
      ok(3, 20, 21, read('x', [1, 3]), read('y', [4, 2])),
    ]);
    assert.deepEqual(anomalyTypes(result), ['G0']);
  });
});

describe('list-append: malformed histories and helpers', () => {
  test('a value appended twice to one key is rejected as a malformed history', () => {
    assert.throws(
      () => checkListAppend([ok(1, 0, 1, append('x', 1)), ok(2, 0, 1, append('x', 1))]),
      ListAppendHistoryError,
    );
  });

  test('Tarjan finds the components of a graph with two cycles and a tail', () => {
    const edges = new Map<number, number[]>([
      [1, [2]],
      [2, [1, 3]],
      [3, [4]],
      [4, [5]],
      [5, [3]],
      [6, [1]],
    ]);
    const components = stronglyConnectedComponents([1, 2, 3, 4, 5, 6], (n) => edges.get(n) ?? [])
      .map((c) => c.sort())
      .sort((a, b) => a[0] - b[0]);
    assert.deepEqual(components, [[1, 2], [3, 4, 5], [6]]);
  });

  test('a long chain does not overflow the stack', () => {
    const history: ListAppendTransaction[] = [];
    for (let i = 0; i < 20_000; i++) history.push(ok(i, i * 2, i * 2 + 1, read('x', []), append(`k${i}`, i)));
    assert.equal(checkListAppend(history).valid, true);
  });
});
