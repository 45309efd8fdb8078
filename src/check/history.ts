// Histories: what each client asked for, what it was told, and when. This is the only input the
// linearizability checker reads, so the simulator and the fault lab both build one, usually with
// `HistoryRecorder`.
//
// Three outcomes, as in Jepsen: `ok` (definite success, output known), `fail` (definite failure:
// the operation is known not to have taken effect, so it is dropped), and `info` (indefinite: the
// client timed out or lost the connection, so it may or may not have taken effect, at any time
// after its call). An indefinite operation has neither output nor return time.

export interface Operation<Input, Output> {
  /** Unique within a history. */
  readonly id: number;
  /** The process that issued it. Informational: the checker orders by time, not by client. */
  readonly client: number;
  readonly input: Input;
  /** Invocation time, on any clock that is monotonic across all clients of the history. */
  readonly call: number;
  /** Undefined when the outcome is unknown. The Output type itself must not include undefined. */
  readonly output?: Output;
  /** Undefined when the outcome is unknown (indefinite): the checker treats it as +infinity. */
  readonly return?: number;
}

/** A history that cannot be checked as recorded (a recording bug, not a consistency anomaly). */
export class HistoryError extends Error {
  constructor(message: string) {
    super(`malformed history: ${message}`);
    this.name = 'HistoryError';
  }
}

export function isIndefinite<Input, Output>(operation: Operation<Input, Output>): boolean {
  return operation.return === undefined;
}

/** Throws HistoryError unless ids are unique, times are finite, and each op returns after its call. */
export function validateHistory<Input, Output>(history: readonly Operation<Input, Output>[]): void {
  const seenIds = new Set<number>();
  for (const operation of history) {
    if (seenIds.has(operation.id)) throw new HistoryError(`duplicate operation id ${operation.id}`);
    seenIds.add(operation.id);
    if (!Number.isFinite(operation.call)) {
      throw new HistoryError(`operation ${operation.id} has a non-finite call time`);
    }
    // An output without a return time (or the reverse) is half an outcome: refuse to guess which.
    if ((operation.output === undefined) !== (operation.return === undefined)) {
      throw new HistoryError(`operation ${operation.id} must have both output and return time, or neither`);
    }
    if (operation.return !== undefined) {
      if (!Number.isFinite(operation.return)) {
        throw new HistoryError(`operation ${operation.id} has a non-finite return time`);
      }
      if (operation.return < operation.call) {
        throw new HistoryError(`operation ${operation.id} returns (${operation.return}) before its call`);
      }
    }
  }
}

interface PendingOperation<Input> {
  readonly client: number;
  readonly input: Input;
  readonly call: number;
}

/**
 * Builds a history as clients run. Usage per request: `id = invoke(...)`, then exactly one of
 * `ok(id, output, time)`, `fail(id)` or `info(id)`. Operations still pending when `operations()`
 * is called are reported as indefinite: whoever stopped the run never learned their outcome.
 */
export class HistoryRecorder<Input, Output> {
  private nextId = 0;
  private readonly pending = new Map<number, PendingOperation<Input>>();
  private readonly finished = new Map<number, Operation<Input, Output>>();

  invoke(client: number, input: Input, time: number): number {
    const id = this.nextId++;
    this.pending.set(id, { client, input, call: time });
    return id;
  }

  /** Definite success with a known output. */
  ok(id: number, output: Output, time: number): void {
    const pending = this.take(id);
    if (output === undefined) throw new HistoryError(`operation ${id}: ok with an undefined output`);
    if (time < pending.call) throw new HistoryError(`operation ${id} returns (${time}) before its call`);
    this.finished.set(id, { id, ...pending, output, return: time });
  }

  /** Definite failure: known not to have taken effect, so it is left out of the history. */
  fail(id: number): void {
    this.take(id);
  }

  /** Indefinite: may or may not have taken effect, at any time after its call. */
  info(id: number): void {
    this.finished.set(id, { id, ...this.take(id) });
  }

  /** The history so far, in invocation order; pending operations appear as indefinite. */
  operations(): Operation<Input, Output>[] {
    const all: Operation<Input, Output>[] = [...this.finished.values()];
    for (const [id, pending] of this.pending) all.push({ id, ...pending });
    return all.sort((a, b) => a.id - b.id);
  }

  private take(id: number): PendingOperation<Input> {
    const pending = this.pending.get(id);
    // Completing an op twice, or one never invoked, means the client wrapper is wrong: say so.
    if (pending === undefined) throw new HistoryError(`operation ${id} is not pending`);
    this.pending.delete(id);
    return pending;
  }
}
