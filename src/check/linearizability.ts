// The linearizability checker's entry point: validate the history, split it into independent
// partitions (per key), search each one, and explain the first failure in terms a person can
// act on: which key, which operations fit, and where no order of them works.

import { assert } from './assert.js';
import { type Operation, validateHistory } from './history.js';
import type { Model, Partition } from './models.js';
import { type DeadEnd, searchPartition } from './search.js';

/**
 * Search steps allowed per partition before giving up with `unknown`. One step is one visit of
 * an event; at this bound a partition takes on the order of a second on a laptop.
 */
export const DEFAULT_MAX_SEARCH_STEPS_PER_PARTITION = 1_000_000;

export interface CheckOptions {
  readonly maxSearchStepsPerPartition?: number;
}

export interface Violation<Input, Output> {
  readonly valid: false;
  /** The partition (for the kv model: the key) that has no linearization; '' if unpartitioned. */
  readonly key: string;
  /** Every operation of that partition (less indefinite read-only ones, which constrain nothing). */
  readonly operations: readonly Operation<Input, Output>[];
  /** The longest linearizable prefix found, in linearization order. */
  readonly linearizedPrefix: readonly Operation<Input, Output>[];
  /** The partition's operations outside that prefix. */
  readonly notLinearized: readonly Operation<Input, Output>[];
  /** The operation whose response arrived before any extension of the prefix could include it. */
  readonly stuckAt: Operation<Input, Output>;
  /** Human-readable summary of the above, for logs and simulator failure reports. */
  readonly message: string;
}

export type CheckResult<Input, Output> =
  | { readonly valid: true }
  | Violation<Input, Output>
  | { readonly valid: 'unknown'; readonly key: string; readonly reason: string };

/**
 * Checks `history` against `model`. Returns `valid: true` only if every partition's search
 * finished and found a linearization; a search cut short by the step limit is `unknown`. A
 * violation in any partition wins over `unknown` in another: it is a definite finding.
 */
export function checkLinearizability<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult<Input, Output> {
  const maxSearchSteps = options.maxSearchStepsPerPartition ?? DEFAULT_MAX_SEARCH_STEPS_PER_PARTITION;
  validateHistory(history);
  const partitions = model.partition?.(history) ?? [{ key: '', operations: history }];
  assertPartitionsCover(history, partitions);
  let unknown: CheckResult<Input, Output> | null = null;
  for (const whole of partitions) {
    const partition = withoutIndefiniteReads(model, whole);
    const outcome = searchPartition(model, partition.operations, maxSearchSteps);
    if (outcome.kind === 'not-linearizable') return explainViolation(model, partition, outcome.deepest);
    if (outcome.kind === 'budget-exhausted' && unknown === null) {
      unknown = {
        valid: 'unknown',
        key: partition.key,
        reason:
          `search of partition ${JSON.stringify(partition.key)} (${partition.operations.length} operations) ` +
          `stopped after ${outcome.searchSteps} steps (maxSearchStepsPerPartition)`,
      };
    }
  }
  return unknown ?? { valid: true };
}

/** A partition function that dropped or duplicated an operation would make the check meaningless. */
function assertPartitionsCover<Input, Output>(
  history: readonly Operation<Input, Output>[],
  partitions: readonly Partition<Input, Output>[],
): void {
  let partitioned = 0;
  for (const partition of partitions) partitioned += partition.operations.length;
  assert(partitioned === history.length, `partitions hold ${partitioned} of ${history.length} operations`);
}

/** See Model.isReadOnly: an indefinite read says nothing, so it is left out of the search. */
function withoutIndefiniteReads<State, Input, Output>(
  model: Model<State, Input, Output>,
  partition: Partition<Input, Output>,
): Partition<Input, Output> {
  const { isReadOnly } = model;
  if (isReadOnly === undefined) return partition;
  const operations = partition.operations.filter(
    (operation) => operation.return !== undefined || !isReadOnly.call(model, operation.input),
  );
  return { key: partition.key, operations };
}

function explainViolation<State, Input, Output>(
  model: Model<State, Input, Output>,
  partition: Partition<Input, Output>,
  deepest: DeadEnd<State>,
): Violation<Input, Output> {
  const { operations } = partition;
  const linearizedPrefix = deepest.prefix.map((index) => operations[index]!);
  const inPrefix = new Set(deepest.prefix);
  const notLinearized = operations.filter((_, index) => !inPrefix.has(index));
  const stuckAt = operations[deepest.stuckAt]!;
  const describeState = model.describeState ?? ((state: State) => JSON.stringify(state));
  const lines = [
    `not linearizable: partition ${JSON.stringify(partition.key)} (model ${model.name}, ` +
      `${operations.length} operations)`,
    `no order explains ${describeOperation(model, stuckAt)}`,
    `longest linearizable prefix (${linearizedPrefix.length} operations):`,
    ...linearizedPrefix.map((operation) => `  ${describeOperation(model, operation)}`),
    `model state after the prefix: ${deepest.statesAfterPrefix.map(describeState).join(' or ')}`,
    `not linearized (${notLinearized.length} operations):`,
    ...notLinearized.map((operation) => `  ${describeOperation(model, operation)}`),
  ];
  return {
    valid: false,
    key: partition.key,
    operations,
    linearizedPrefix,
    notLinearized,
    stuckAt,
    message: lines.join('\n'),
  };
}

function describeOperation<State, Input, Output>(
  model: Model<State, Input, Output>,
  operation: Operation<Input, Output>,
): string {
  const body =
    model.describeOperation?.(operation.input, operation.output) ??
    `${JSON.stringify(operation.input)} -> ${JSON.stringify(operation.output) ?? '?'}`;
  const returned = operation.return === undefined ? 'never returned' : `returned t=${operation.return}`;
  return `#${operation.id} client ${operation.client}: ${body} (called t=${operation.call}, ${returned})`;
}
