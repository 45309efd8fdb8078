// One test per rule of linearizability for a single register, including the histories the
// checker must reject: a checker that cannot fail proves nothing (TESTING.md).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CheckResult,
  checkLinearizability,
  HistoryError,
  type Model,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  registerModel,
  WRITE_OK,
} from '../../src/check/index.js';

type RegisterOperation = Operation<RegisterInput, RegisterOutput>;
type Value = string | null;

// Builders: pass no return time for an indefinite operation (outcome unknown).
function write(id: number, value: Value, call: number, returnTime?: number): RegisterOperation {
  const input: RegisterInput = { type: 'write', value };
  if (returnTime === undefined) return { id, client: id, input, call };
  return { id, client: id, input, call, output: WRITE_OK, return: returnTime };
}

function read(id: number, seen: Value, call: number, returnTime: number): RegisterOperation {
  return { id, client: id, input: { type: 'read' }, call, output: seen, return: returnTime };
}

function cas(
  id: number,
  expected: Value,
  value: Value,
  swapped: boolean | undefined,
  call: number,
  returnTime?: number,
): RegisterOperation {
  const input: RegisterInput = { type: 'cas', expected, value };
  if (swapped === undefined || returnTime === undefined) return { id, client: id, input, call };
  return { id, client: id, input, call, output: swapped, return: returnTime };
}

function check(history: readonly RegisterOperation[]): CheckResult<RegisterInput, RegisterOutput> {
  return checkLinearizability(registerModel, history);
}

function assertInvalid(history: readonly RegisterOperation[]): void {
  const result = check(history);
  assert.equal(result.valid, false, 'the checker accepted a non-linearizable history');
}

describe('register: valid histories', () => {
  test('a sequential history that follows the register is linearizable', () => {
    const history = [read(1, null, 0, 1), write(2, 'a', 2, 3), read(3, 'a', 4, 5), write(4, 'b', 6, 7)];
    assert.deepEqual(check([...history, read(5, 'b', 8, 9)]), { valid: true });
  });

  test('the empty history is linearizable', () => {
    assert.deepEqual(check([]), { valid: true });
  });

  test('a read concurrent with a write may see the old value', () => {
    assert.deepEqual(check([write(1, 'x', 0, 1), write(2, 'y', 2, 10), read(3, 'x', 3, 9)]), { valid: true });
  });

  test('a read concurrent with a write may see the new value', () => {
    assert.deepEqual(check([write(1, 'x', 0, 1), write(2, 'y', 2, 10), read(3, 'y', 3, 9)]), { valid: true });
  });

  test('a read may be linearized before a write that was invoked earlier but overlaps it', () => {
    assert.deepEqual(check([write(1, 'y', 0, 10), read(2, null, 1, 2)]), { valid: true });
  });

  test('operations whose intervals only touch count as concurrent (clock resolution)', () => {
    assert.deepEqual(check([write(1, 'a', 0, 5), read(2, null, 5, 6)]), { valid: true });
  });

  test('two concurrent reads may see a write and its predecessor in either order', () => {
    const history = [write(1, 'a', 0, 1), write(2, 'b', 2, 20), read(3, 'b', 3, 10), read(4, 'a', 4, 11)];
    assert.deepEqual(check(history), { valid: true });
  });
});

describe('register: histories the checker must reject', () => {
  test('a read after a completed write must not return an older value (stale read)', () => {
    assertInvalid([write(1, 'a', 0, 1), write(2, 'b', 2, 3), read(3, 'a', 4, 5)]);
  });

  test('a read must return a value that was written (or null)', () => {
    assertInvalid([write(1, 'a', 0, 1), read(2, 'ghost', 2, 3)]);
  });

  test('a read of null after a completed write is stale', () => {
    assertInvalid([write(1, 'a', 0, 1), read(2, null, 2, 3)]);
  });

  test('reads in real-time order must not observe a write and then its predecessor (new-old inversion)', () => {
    assertInvalid([write(1, 'a', 0, 1), write(2, 'b', 2, 20), read(3, 'b', 3, 5), read(4, 'a', 6, 8)]);
  });

  test('a violation reports the longest linearizable prefix and the operation that could not fit', () => {
    const result = check([write(1, 'a', 0, 1), write(2, 'b', 2, 3), read(3, 'a', 4, 5)]);
    assert.ok(result.valid === false);
    assert.equal(result.key, '');
    assert.deepEqual(
      result.linearizedPrefix.map((operation) => operation.id),
      [1, 2],
    );
    assert.deepEqual(
      result.notLinearized.map((operation) => operation.id),
      [3],
    );
    assert.equal(result.stuckAt.id, 3);
    assert.match(result.message, /no order explains #3 client 3: read\(\) -> "a"/);
    assert.match(result.message, /model state after the prefix: "b"/);
  });
});

describe('register: compare-and-set', () => {
  test('a cas succeeds exactly when the register holds the expected value', () => {
    const history = [cas(1, null, 'a', true, 0, 1), cas(2, 'z', 'b', false, 2, 3), read(3, 'a', 4, 5)];
    assert.deepEqual(check(history), { valid: true });
    assert.deepEqual(check([write(1, 'a', 0, 1), cas(2, 'a', 'b', true, 2, 3), read(3, 'b', 4, 5)]), {
      valid: true,
    });
  });

  test('a cas must not succeed when the register holds another value', () => {
    assertInvalid([write(1, 'a', 0, 1), cas(2, 'z', 'b', true, 2, 3)]);
  });

  test('a cas must not fail when the register holds the expected value', () => {
    assertInvalid([write(1, 'a', 0, 1), cas(2, 'a', 'b', false, 2, 3)]);
  });

  test('a failed cas must not change the register', () => {
    assertInvalid([write(1, 'a', 0, 1), cas(2, 'z', 'b', false, 2, 3), read(3, 'b', 4, 5)]);
  });

  test('two concurrent cas from the same expected value must not both succeed', () => {
    assertInvalid([write(1, 'a', 0, 1), cas(2, 'a', 'b', true, 2, 5), cas(3, 'a', 'c', true, 2, 5)]);
  });

  test('an indefinite cas may or may not have taken effect', () => {
    const prefix = [write(1, 'a', 0, 1), cas(2, 'a', 'b', undefined, 2)];
    assert.deepEqual(check([...prefix, read(3, 'b', 10, 11)]), { valid: true });
    assert.deepEqual(check([...prefix, read(3, 'a', 10, 11)]), { valid: true });
    assertInvalid([...prefix, read(3, 'c', 10, 11)]);
  });
});

describe('register: indefinite operations', () => {
  test('an indefinite write that is later observed is linearizable', () => {
    assert.deepEqual(check([write(1, 'a', 0, 1), write(2, 'b', 2), read(3, 'b', 5, 6)]), { valid: true });
  });

  test('an indefinite write that is never observed is linearizable', () => {
    const history = [write(1, 'a', 0, 1), write(2, 'b', 2), read(3, 'a', 5, 6), read(4, 'a', 7, 8)];
    assert.deepEqual(check(history), { valid: true });
  });

  test('an indefinite write observed, then its old value again after that read, is not linearizable', () => {
    assertInvalid([write(1, 'a', 0, 1), write(2, 'b', 2), read(3, 'b', 5, 6), read(4, 'a', 7, 8)]);
  });

  test('an indefinite read constrains nothing', () => {
    const lostRead: RegisterOperation = { id: 9, client: 9, input: { type: 'read' }, call: 2 };
    assert.deepEqual(check([write(1, 'a', 0, 1), lostRead, read(3, 'a', 5, 6)]), { valid: true });
    assertInvalid([write(1, 'a', 0, 1), lostRead, read(3, null, 5, 6)]);
  });

  test('an indefinite write cannot take effect before it was invoked', () => {
    assertInvalid([write(1, 'a', 0, 1), read(2, 'b', 2, 3), write(3, 'b', 5)]);
  });
});

describe('register: malformed histories are errors, not anomalies', () => {
  test('duplicate operation ids are rejected', () => {
    assert.throws(() => check([read(1, null, 0, 1), read(1, null, 2, 3)]), HistoryError);
  });

  test('a return before its call is rejected', () => {
    assert.throws(() => check([read(1, null, 5, 4)]), HistoryError);
  });

  test('an output of the wrong kind for the operation is rejected', () => {
    const badRead: RegisterOperation = {
      id: 1,
      client: 1,
      input: { type: 'read' },
      call: 0,
      output: true,
      return: 1,
    };
    assert.throws(() => check([badRead]), HistoryError);
  });
});

describe('non-deterministic models', () => {
  // A counter whose increment may add 1 or 2 (say, a retried request that may apply twice).
  const sloppyCounter: Model<number, 'increment' | 'read', number | 'ok'> = {
    name: 'sloppy-counter',
    init: () => 0,
    step: (state, input, output) => {
      if (input === 'increment') return [state + 1, state + 2];
      return output === undefined || output === state ? [state] : [];
    },
    hashState: (state) => String(state),
  };
  const increment = (id: number, call: number): Operation<'increment' | 'read', number | 'ok'> => ({
    id,
    client: 0,
    input: 'increment',
    call,
    output: 'ok',
    return: call + 1,
  });
  const readCounter = (id: number, seen: number): Operation<'increment' | 'read', number | 'ok'> => ({
    id,
    client: 0,
    input: 'read',
    call: 10,
    output: seen,
    return: 11,
  });

  test('every possible successor state is explored', () => {
    for (const seen of [2, 3, 4]) {
      const result = checkLinearizability(sloppyCounter, [
        increment(1, 0),
        increment(2, 2),
        readCounter(3, seen),
      ]);
      assert.deepEqual(result, { valid: true }, `read ${seen}`);
    }
  });

  test('a state no choice of successors reaches is rejected', () => {
    for (const seen of [1, 5]) {
      const result = checkLinearizability(sloppyCounter, [
        increment(1, 0),
        increment(2, 2),
        readCounter(3, seen),
      ]);
      assert.equal(result.valid, false, `read ${seen}`);
    }
  });
});
