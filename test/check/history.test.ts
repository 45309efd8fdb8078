// The history recorder: how simulator and fault-lab clients turn requests into a checkable history.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkLinearizability,
  HistoryError,
  HistoryRecorder,
  isIndefinite,
  type KvInput,
  kvModel,
  type RegisterOutput,
  WRITE_OK,
} from '../../src/check/index.js';

test('ok records the output and return time', () => {
  const recorder = new HistoryRecorder<KvInput, RegisterOutput>();
  const id = recorder.invoke(7, { key: 'k', type: 'read' }, 10);
  recorder.ok(id, 'v', 12);
  assert.deepEqual(recorder.operations(), [
    { id, client: 7, input: { key: 'k', type: 'read' }, call: 10, output: 'v', return: 12 },
  ]);
});

test('a definite failure is dropped: it is known not to have happened', () => {
  const recorder = new HistoryRecorder<KvInput, RegisterOutput>();
  const failed = recorder.invoke(1, { key: 'k', type: 'write', value: 'lost' }, 0);
  recorder.fail(failed);
  assert.deepEqual(recorder.operations(), []);
});

test('info and still-pending operations are indefinite: no output, no return time', () => {
  const recorder = new HistoryRecorder<KvInput, RegisterOutput>();
  const timedOut = recorder.invoke(1, { key: 'k', type: 'write', value: 'a' }, 0);
  recorder.invoke(2, { key: 'k', type: 'write', value: 'b' }, 1);
  recorder.info(timedOut);
  const operations = recorder.operations();
  assert.equal(operations.length, 2);
  assert.ok(operations.every(isIndefinite));
  assert.ok(operations.every((operation) => !('output' in operation) && !('return' in operation)));
});

test('completing an operation twice, or before its call, is a recording bug', () => {
  const recorder = new HistoryRecorder<KvInput, RegisterOutput>();
  const id = recorder.invoke(1, { key: 'k', type: 'read' }, 5);
  assert.throws(() => recorder.ok(id, null, 4), HistoryError);
  const other = recorder.invoke(1, { key: 'k', type: 'read' }, 5);
  recorder.ok(other, null, 6);
  assert.throws(() => recorder.ok(other, null, 7), HistoryError);
  assert.throws(() => recorder.info(99), HistoryError);
});

test('a recorded history checks end to end, failures and timeouts included', () => {
  const recorder = new HistoryRecorder<KvInput, RegisterOutput>();
  const first = recorder.invoke(1, { key: 'k', type: 'write', value: 'a' }, 0);
  recorder.ok(first, WRITE_OK, 1);
  recorder.fail(recorder.invoke(2, { key: 'k', type: 'write', value: 'never' }, 2));
  recorder.info(recorder.invoke(3, { key: 'k', type: 'write', value: 'maybe' }, 3));
  const observed = recorder.invoke(4, { key: 'k', type: 'read' }, 4);
  recorder.ok(observed, 'maybe', 5);
  assert.deepEqual(checkLinearizability(kvModel, recorder.operations()), { valid: true });

  // Reading the definitely-failed write's value must be rejected: it never happened.
  const impossible = recorder.invoke(5, { key: 'k', type: 'read' }, 6);
  recorder.ok(impossible, 'never', 7);
  assert.equal(checkLinearizability(kvModel, recorder.operations()).valid, false);
});
