// Cross-checks the search against a brute-force oracle on small random register histories: try
// every subset of indefinite operations and every order that respects real time. The outputs are
// random, so both verdicts occur; any disagreement is a checker bug, printed with its seed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkLinearizability,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  type RegisterState,
  registerModel,
  WRITE_OK,
} from '../../src/check/index.js';
import { mulberry32, randomInt } from './random.js';

type RegisterOperation = Operation<RegisterInput, RegisterOutput>;

const VALUES: readonly RegisterState[] = [null, 'a', 'b'];
const HISTORY_COUNT = 3000;
const MAX_OPERATIONS = 6;

function randomOperation(random: () => number, id: number): RegisterOperation {
  const call = randomInt(random, 12);
  const returnTime = call + randomInt(random, 6);
  const value = VALUES[1 + randomInt(random, 2)]!;
  const roll = random();
  let input: RegisterInput;
  let output: RegisterOutput;
  if (roll < 0.45) {
    input = { type: 'read' };
    output = VALUES[randomInt(random, VALUES.length)]!;
  } else if (roll < 0.8) {
    input = { type: 'write', value };
    output = WRITE_OK;
  } else {
    input = { type: 'cas', expected: VALUES[randomInt(random, VALUES.length)]!, value };
    output = random() < 0.5;
  }
  if (random() < 0.2) return { id, client: id, input, call };
  return { id, client: id, input, call, output, return: returnTime };
}

/** True if some subset of indefinite ops, in some real-time-respecting order, replays legally. */
function bruteForceLinearizable(history: readonly RegisterOperation[]): boolean {
  const search = (remaining: readonly RegisterOperation[], state: RegisterState): boolean => {
    if (remaining.every((operation) => operation.return === undefined)) return true;
    return remaining.some((next) => {
      // `next` may go now only if no remaining op returned strictly before `next` was called.
      const blocked = remaining.some((other) => other.return !== undefined && other.return < next.call);
      if (blocked) return false;
      const rest = remaining.filter((operation) => operation !== next);
      return registerModel.step(state, next.input, next.output).some((successor) => search(rest, successor));
    });
  };
  return search(history, null);
}

test('the search agrees with brute-force enumeration on small random histories', () => {
  const random = mulberry32(20240601);
  const verdicts = { valid: 0, invalid: 0 };
  for (let n = 0; n < HISTORY_COUNT; n++) {
    const size = 1 + randomInt(random, MAX_OPERATIONS);
    const history = Array.from({ length: size }, (_, id) => randomOperation(random, id));
    const expected = bruteForceLinearizable(history);
    const result = checkLinearizability(registerModel, history);
    assert.equal(result.valid, expected, `history ${n}: ${JSON.stringify(history)}`);
    verdicts[expected ? 'valid' : 'invalid']++;
  }
  // Guard against a vacuous oracle: both verdicts must be well represented.
  assert.ok(verdicts.valid > HISTORY_COUNT / 10, `only ${verdicts.valid} valid histories`);
  assert.ok(verdicts.invalid > HISTORY_COUNT / 10, `only ${verdicts.invalid} invalid histories`);
});
