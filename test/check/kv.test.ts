// The kv model (one register per key, checked per key), randomized histories, and the search bound.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkLinearizability,
  type KvInput,
  kvModel,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  WRITE_OK,
} from '../../src/check/index.js';
import { mulberry32 } from './random.js';

type KvOperation = Operation<KvInput, RegisterOutput>;

function kvWrite(id: number, key: string, value: string, call: number, returnTime: number): KvOperation {
  return { id, client: id, input: { key, type: 'write', value }, call, output: WRITE_OK, return: returnTime };
}

function kvRead(id: number, key: string, seen: string | null, call: number, returnTime: number): KvOperation {
  return { id, client: id, input: { key, type: 'read' }, call, output: seen, return: returnTime };
}

describe('kv: per-key partitioning', () => {
  test('keys are independent registers: a write to one key is invisible to another', () => {
    const history = [kvWrite(1, 'x', 'a', 0, 1), kvRead(2, 'y', null, 2, 3), kvRead(3, 'x', 'a', 4, 5)];
    assert.deepEqual(checkLinearizability(kvModel, history), { valid: true });
  });

  test('an anomaly in one key is reported with that key and only its operations', () => {
    const history = [
      kvWrite(1, 'x', 'a', 0, 1),
      kvWrite(2, 'y', 'a', 0, 1),
      kvWrite(3, 'y', 'b', 2, 3),
      kvRead(4, 'x', 'a', 4, 5),
      kvRead(5, 'y', 'a', 4, 5), // stale: 'b' was written before this read began
    ];
    const result = checkLinearizability(kvModel, history);
    assert.ok(result.valid === false);
    assert.equal(result.key, 'y');
    assert.deepEqual(
      result.operations.map((operation) => operation.id),
      [2, 3, 5],
    );
    assert.equal(result.stuckAt.id, 5);
    assert.match(result.message, /partition "y"/);
  });
});

// --- Randomized histories ------------------------------------------------------------------------

interface PlannedOperation {
  readonly id: number;
  readonly client: number;
  readonly input: KvInput;
  readonly call: number;
  readonly returnTime: number;
  /** When it takes effect, strictly inside [call, returnTime]; null if it never takes effect. */
  readonly linearizationPoint: number | null;
  readonly indefinite: boolean;
}

interface RandomHistoryShape {
  readonly clients: number;
  readonly keys: number;
  readonly operationsPerClient: number;
}

function chooseInput(random: () => number, id: number, key: string, written: string[]): RegisterInput {
  const roll = random();
  if (roll < 0.5) return { type: 'read' };
  // Written values are unique (they carry the op id), so a read names exactly one writer.
  const value = `${key}:${id}`;
  if (roll < 0.8) return { type: 'write', value };
  const expected = written.length === 0 ? null : written[Math.floor(random() * written.length)]!;
  return { type: 'cas', expected, value };
}

/** Plans each client's sequential operations and a linearization point inside each interval. */
function planOperations(random: () => number, shape: RandomHistoryShape): PlannedOperation[] {
  const planned: PlannedOperation[] = [];
  const writtenByKey = new Map<string, string[]>();
  for (let client = 0; client < shape.clients; client++) {
    let clientTime = random() * 5;
    for (let n = 0; n < shape.operationsPerClient; n++) {
      const id = planned.length;
      const key = `k${Math.floor(random() * shape.keys)}`;
      const written = writtenByKey.get(key) ?? [];
      writtenByKey.set(key, written);
      const input = { key, ...chooseInput(random, id, key, written) };
      if (input.type !== 'read') written.push(input.value!);
      const call = clientTime + random() * 3;
      const durationTicks = 1 + random() * 10;
      const returnTime = call + durationTicks;
      const fate = random();
      // ~6% of updates time out but took effect; ~4% time out and never took effect.
      const indefinite = input.type !== 'read' && fate < 0.1;
      const tookEffect = !(indefinite && fate < 0.04);
      const point = call + (0.01 + 0.98 * random()) * durationTicks;
      planned.push({
        id,
        client,
        input,
        call,
        returnTime,
        linearizationPoint: tookEffect ? point : null,
        indefinite,
      });
      clientTime = returnTime;
    }
  }
  return planned;
}

/** Runs the plan against a real map in linearization-point order: the history is linearizable. */
function randomLinearizableHistory(seed: number, shape: RandomHistoryShape): KvOperation[] {
  const planned = planOperations(mulberry32(seed), shape);
  const outputs = new Map<number, RegisterOutput>();
  const store = new Map<string, string | null>();
  const effective = planned.filter((operation) => operation.linearizationPoint !== null);
  effective.sort((a, b) => a.linearizationPoint! - b.linearizationPoint!);
  for (const { id, input } of effective) {
    const current = store.get(input.key) ?? null;
    if (input.type === 'read') outputs.set(id, current);
    if (input.type === 'write') store.set(input.key, input.value);
    if (input.type === 'write') outputs.set(id, WRITE_OK);
    if (input.type === 'cas') {
      outputs.set(id, current === input.expected);
      if (current === input.expected) store.set(input.key, input.value);
    }
  }
  return planned.map(({ id, client, input, call, returnTime, indefinite }) =>
    indefinite
      ? { id, client, input, call }
      : { id, client, input, call, output: outputs.get(id)!, return: returnTime },
  );
}

const SHAPE: RandomHistoryShape = { clients: 8, keys: 6, operationsPerClient: 50 };
const SEEDS = [1, 2, 3, 42, 1234];

describe('kv: randomized histories', () => {
  for (const seed of SEEDS) {
    test(`a history generated from linearization points is linearizable (seed ${seed})`, () => {
      const history = randomLinearizableHistory(seed, SHAPE);
      assert.equal(history.length, SHAPE.clients * SHAPE.operationsPerClient);
      const result = checkLinearizability(kvModel, history);
      assert.deepEqual(result, { valid: true }, `seed ${seed}: ${JSON.stringify(result)}`);
    });

    test(`a read changed to a value never written is not linearizable (seed ${seed})`, () => {
      const history = randomLinearizableHistory(seed, SHAPE);
      const reads = history.filter((operation) => operation.input.type === 'read');
      const victim = reads[Math.floor(mulberry32(seed ^ 0x5eed)() * reads.length)]!;
      const mutated = history.map((operation) =>
        operation === victim ? { ...operation, output: 'never-written' } : operation,
      );
      const result = checkLinearizability(kvModel, mutated);
      assert.ok(result.valid === false, `seed ${seed}: mutation of #${victim.id} not detected`);
      assert.equal(result.key, victim.input.key);
      assert.equal(result.stuckAt.id, victim.id);
    });

    test(`a read changed to a value written only after it returned is not linearizable (seed ${seed})`, () => {
      const history = randomLinearizableHistory(seed, SHAPE);
      const pair = findReadBeforeLaterWrite(history);
      assert.ok(pair !== null, `seed ${seed}: no read precedes a write to its key`);
      const mutated = history.map((operation) =>
        operation === pair.read ? { ...operation, output: pair.value } : operation,
      );
      const result = checkLinearizability(kvModel, mutated);
      assert.ok(result.valid === false, `seed ${seed}: read from the future #${pair.read.id} not detected`);
      assert.equal(result.key, pair.read.input.key);
    });
  }
});

/** A read and a later-invoked write of the same key (the read returned before the write's call). */
function findReadBeforeLaterWrite(
  history: readonly KvOperation[],
): { read: KvOperation; value: string } | null {
  for (const read of history) {
    if (read.input.type !== 'read' || read.return === undefined) continue;
    for (const write of history) {
      const { input } = write;
      if (input.type === 'write' && input.key === read.input.key && write.call > read.return) {
        return { read, value: input.value! };
      }
    }
  }
  return null;
}

// --- The search bound ----------------------------------------------------------------------------

describe('kv: search bound', () => {
  test('a search stopped by maxSearchStepsPerPartition is unknown, never valid', () => {
    const history = randomLinearizableHistory(7, SHAPE);
    assert.deepEqual(checkLinearizability(kvModel, history), { valid: true });
    const result = checkLinearizability(kvModel, history, { maxSearchStepsPerPartition: 20 });
    assert.equal(result.valid, 'unknown');
    assert.ok(result.valid === 'unknown');
    assert.equal(result.key, 'k0');
    assert.match(result.reason, /maxSearchStepsPerPartition/);
  });

  test('a violation in one key outweighs an unfinished search in another', () => {
    const history = randomLinearizableHistory(7, SHAPE);
    const ghostRead = kvRead(100_000, 'zz', 'ghost', 0, 1);
    const result = checkLinearizability(kvModel, [...history, ghostRead], { maxSearchStepsPerPartition: 20 });
    assert.ok(result.valid === false);
    assert.equal(result.key, 'zz');
  });
});
