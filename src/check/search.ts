// The linearizability search for one partition: Wing & Gong's algorithm with Lowe's memoization,
// as in Porcupine's checkSingle and Knossos's "linear" checker.
//
// Walk the event list from the front. At a call, try to linearize that operation now: step the
// model, and if the step is legal and the resulting (linearized set, model state) configuration is
// new, lift the operation out of the list, push a frame and restart from the front. At a return,
// that operation's response arrived before we could linearize it, so this branch is dead: pop the
// last frame and try the next call after it. Configurations already explored are cached, because
// the same set of operations reaching the same state has the same future.

import { assert } from './assert.js';
import { Bitset } from './bitset.js';
import { buildEventList, type EventNode, lift, unlift } from './event-list.js';
import type { Operation } from './history.js';
import type { Model } from './models.js';

/** The set of states the model may be in (a singleton unless the model is non-deterministic). */
interface StateSet<State> {
  readonly states: readonly State[];
  readonly hash: string;
}

interface Frame<State> {
  readonly call: EventNode;
  /** The state set before this frame's operation was linearized, restored on backtrack. */
  readonly before: StateSet<State>;
}

export interface DeadEnd<State> {
  /** Operation indexes in linearization order: the longest linearizable prefix found. */
  readonly prefix: readonly number[];
  /** The operation whose return came before any extension of the prefix could include it. */
  readonly stuckAt: number;
  readonly statesAfterPrefix: readonly State[];
}

export type SearchOutcome<State> =
  | { readonly kind: 'linearizable'; readonly searchSteps: number }
  | { readonly kind: 'not-linearizable'; readonly searchSteps: number; readonly deepest: DeadEnd<State> }
  | { readonly kind: 'budget-exhausted'; readonly searchSteps: number };

function stateSetOf<State>(states: Map<string, State>): StateSet<State> {
  const hashes = [...states.keys()].sort();
  return { states: [...states.values()], hash: JSON.stringify(hashes) };
}

/** Steps every possible state; null if the operation is impossible from all of them. */
function stepAll<State, Input, Output>(
  model: Model<State, Input, Output>,
  current: StateSet<State>,
  operation: Operation<Input, Output>,
): StateSet<State> | null {
  const next = new Map<string, State>();
  for (const state of current.states) {
    for (const successor of model.step(state, operation.input, operation.output)) {
      const hash = model.hashState(successor);
      if (!next.has(hash)) next.set(hash, successor);
    }
  }
  return next.size === 0 ? null : stateSetOf(next);
}

/** Searches for a linearization of `operations`, taking at most `maxSearchSteps` loop steps. */
export function searchPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  maxSearchSteps: number,
): SearchOutcome<State> {
  assert(Number.isInteger(maxSearchSteps) && maxSearchSteps > 0, `maxSearchSteps ${maxSearchSteps}`);
  const head = buildEventList(operations);
  const linearized = new Bitset(operations.length);
  const explored = new Set<string>();
  const stack: Frame<State>[] = [];
  const initial = model.init();
  let states: StateSet<State> = stateSetOf(new Map([[model.hashState(initial), initial]]));
  // Indefinite operations never have to be linearized (they may not have happened), so the search
  // is done once every definite one is; the rest are at +infinity and constrain nothing.
  let definiteRemaining = operations.filter((operation) => operation.return !== undefined).length;
  let deepest: DeadEnd<State> | null = null;
  let searchSteps = 0;
  let event = head.next;
  while (definiteRemaining > 0) {
    if (searchSteps >= maxSearchSteps) return { kind: 'budget-exhausted', searchSteps };
    searchSteps++;
    assert(event !== null, 'ran off the event list with definite operations left');
    const operation = operations[event.operationIndex]!;
    if (event.kind === 'call') {
      const next = stepAll(model, states, operation);
      if (next !== null) {
        linearized.set(event.operationIndex);
        const configuration = linearized.key() + next.hash;
        if (!explored.has(configuration)) {
          explored.add(configuration);
          stack.push({ call: event, before: states });
          states = next;
          lift(event);
          if (operation.return !== undefined) definiteRemaining--;
          event = head.next;
          continue;
        }
        linearized.clear(event.operationIndex);
      }
      event = event.next;
      continue;
    }
    // Sorted order puts every finite return before the first infinite one, so a definite op is here.
    assert(event.kind === 'return' && operation.return !== undefined, 'dead end at an indefinite return');
    if (deepest === null || stack.length > deepest.prefix.length) {
      deepest = {
        prefix: stack.map((frame) => frame.call.operationIndex),
        stuckAt: event.operationIndex,
        statesAfterPrefix: states.states,
      };
    }
    const frame = stack.pop();
    if (frame === undefined) return { kind: 'not-linearizable', searchSteps, deepest };
    states = frame.before;
    linearized.clear(frame.call.operationIndex);
    unlift(frame.call);
    if (operations[frame.call.operationIndex]!.return !== undefined) definiteRemaining++;
    event = frame.call.next;
  }
  return { kind: 'linearizable', searchSteps };
}
