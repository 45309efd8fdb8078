// Sequential specifications the linearizability checker compares histories against.
//
// A model's `step` returns every state the object could be in after the operation (an empty array
// means the operation, with that output, is impossible in that state). Returning a list lets a
// model be non-deterministic; the checker explores the set of possible states, as Porcupine's
// NondeterministicModel does. `output` is undefined for an indefinite operation: the step must then
// accept whatever output the operation would have produced. The checker never forces an indefinite
// operation to take effect, so its "did not happen" branch needs no help from the model.

import { HistoryError, type Operation } from './history.js';

export interface Partition<Input, Output> {
  /** Names the partition in reports (for the kv model: the key). */
  readonly key: string;
  readonly operations: readonly Operation<Input, Output>[];
}

export interface Model<State, Input, Output> {
  readonly name: string;
  init(): State;
  step(state: State, input: Input, output: Output | undefined): readonly State[];
  /** Equal states must give equal strings: used to memoize the search and de-duplicate states. */
  hashState(state: State): string;
  /**
   * Splits a history into independent sub-histories. Linearizability is local (Herlihy & Wing
   * 1990, Theorem 1): a history is linearizable iff each object's sub-history is, so objects can
   * be checked one at a time, which keeps the exponential search small.
   */
  partition?(history: readonly Operation<Input, Output>[]): readonly Partition<Input, Output>[];
  /**
   * True for operations that never change the state. Indefinite ones are left out of the search:
   * they constrain nothing, and each one left in would double the configurations to explore.
   */
  isReadOnly?(input: Input): boolean;
  describeOperation?(input: Input, output: Output | undefined): string;
  describeState?(state: State): string;
}

// --- A single register ----------------------------------------------------------------------

export type RegisterValue = string;
/** null: never written, or deleted (for a kv key: absent). */
export type RegisterState = RegisterValue | null;

export type RegisterInput =
  | { readonly type: 'read' }
  /** A write of null deletes. */
  | { readonly type: 'write'; readonly value: RegisterValue | null }
  /** Compare-and-set: set `value` iff the register holds `expected` (null: iff absent). */
  | { readonly type: 'cas'; readonly expected: RegisterValue | null; readonly value: RegisterValue | null };

/** The output a successful write reports. */
export const WRITE_OK = 'ok';

/** read: the value seen (null if absent); write: WRITE_OK; cas: whether it swapped. */
export type RegisterOutput = RegisterValue | null | boolean;

function registerStep(
  state: RegisterState,
  input: RegisterInput,
  output: RegisterOutput | undefined,
): readonly RegisterState[] {
  switch (input.type) {
    case 'read':
      if (output === undefined) return [state];
      // A boolean here is a recording bug, not an anomaly: fail loudly rather than report "invalid".
      if (typeof output === 'boolean') throw new HistoryError(`read output must be a value or null`);
      return output === state ? [state] : [];
    case 'write':
      if (output !== undefined && output !== WRITE_OK) {
        throw new HistoryError(`write output must be '${WRITE_OK}', got ${JSON.stringify(output)}`);
      }
      return [input.value];
    case 'cas': {
      if (output !== undefined && typeof output !== 'boolean') {
        throw new HistoryError(`cas output must be a boolean, got ${JSON.stringify(output)}`);
      }
      const matches = state === input.expected;
      // Unknown outcome: if it took effect here, it did whatever the state dictates.
      const swapped = output ?? matches;
      if (swapped !== matches) return [];
      return swapped ? [input.value] : [state];
    }
  }
}

function describeRegisterInput(input: RegisterInput): string {
  switch (input.type) {
    case 'read':
      return 'read()';
    case 'write':
      return `write(${JSON.stringify(input.value)})`;
    case 'cas':
      return `cas(${JSON.stringify(input.expected)}, ${JSON.stringify(input.value)})`;
  }
}

function describeRegisterOperation(input: RegisterInput, output: RegisterOutput | undefined): string {
  const shownOutput = output === undefined ? '? (indefinite)' : JSON.stringify(output);
  return `${describeRegisterInput(input)} -> ${shownOutput}`;
}

/** JSON keeps null distinct from the string "null". */
function hashRegisterState(state: RegisterState): string {
  return JSON.stringify(state);
}

export const registerModel: Model<RegisterState, RegisterInput, RegisterOutput> = {
  name: 'register',
  init: () => null,
  step: registerStep,
  hashState: hashRegisterState,
  isReadOnly: (input) => input.type === 'read',
  describeOperation: describeRegisterOperation,
  describeState: hashRegisterState,
};

// --- Many keys, each an independent register --------------------------------------------------

export type KvInput = RegisterInput & { readonly key: string };

function partitionByKey(
  history: readonly Operation<KvInput, RegisterOutput>[],
): readonly Partition<KvInput, RegisterOutput>[] {
  const byKey = new Map<string, Operation<KvInput, RegisterOutput>[]>();
  for (const operation of history) {
    const operations = byKey.get(operation.input.key);
    if (operations === undefined) byKey.set(operation.input.key, [operation]);
    else operations.push(operation);
  }
  // Sorted so reports (which key is named first) do not depend on history order.
  const keys = [...byKey.keys()].sort();
  return keys.map((key) => ({ key, operations: byKey.get(key)! }));
}

/** Single-key reads, writes and CAS on a key-value map: one register per key, checked per key. */
export const kvModel: Model<RegisterState, KvInput, RegisterOutput> = {
  name: 'kv',
  init: () => null,
  step: registerStep,
  hashState: hashRegisterState,
  partition: partitionByKey,
  isReadOnly: (input) => input.type === 'read',
  describeOperation: (input, output) =>
    `${JSON.stringify(input.key)}: ${describeRegisterOperation(input, output)}`,
  describeState: hashRegisterState,
};
