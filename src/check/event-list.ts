// The doubly linked list of call and return events the Wing & Gong / Lowe search walks.
// Linearizing an operation "lifts" its call and return out of the list; backtracking "unlifts"
// them back in the same place, in O(1) each, which is why this is a linked list and not an array.

import { assert } from './assert.js';
import type { Operation } from './history.js';

export interface EventNode {
  readonly kind: 'call' | 'return' | 'head';
  /** Index of the operation in the partition's operation array (-1 for the head sentinel). */
  readonly operationIndex: number;
  prev: EventNode | null;
  next: EventNode | null;
  /** For a call: its return event. */
  match: EventNode | null;
}

interface TimedEvent {
  readonly node: EventNode;
  readonly time: number;
}

function compareEvents(a: TimedEvent, b: TimedEvent): number {
  if (a.time !== b.time) return a.time - b.time;
  // Equal times: calls first, so operations that merely touch count as concurrent. With coarse
  // clocks (simulator ticks, millisecond timestamps) we cannot tell which came first, and the
  // checker must not report an anomaly the clock resolution invented.
  if (a.node.kind !== b.node.kind) return a.node.kind === 'call' ? -1 : 1;
  return a.node.operationIndex - b.node.operationIndex;
}

/** Builds the list for `operations` and returns its head sentinel. */
export function buildEventList<Input, Output>(operations: readonly Operation<Input, Output>[]): EventNode {
  const events: TimedEvent[] = [];
  operations.forEach((operation, operationIndex) => {
    const returnNode: EventNode = { kind: 'return', operationIndex, prev: null, next: null, match: null };
    const callNode: EventNode = { kind: 'call', operationIndex, prev: null, next: null, match: returnNode };
    events.push({ node: callNode, time: operation.call });
    // Indefinite: the response never came, so the operation stays open until the end of time.
    events.push({ node: returnNode, time: operation.return ?? Number.POSITIVE_INFINITY });
  });
  events.sort(compareEvents);
  const head: EventNode = { kind: 'head', operationIndex: -1, prev: null, next: null, match: null };
  let tail = head;
  for (const { node } of events) {
    tail.next = node;
    node.prev = tail;
    tail = node;
  }
  return head;
}

/** Removes a call and its return from the list; they keep their own links for `unlift`. */
export function lift(call: EventNode): void {
  const returnNode = call.match;
  assert(call.kind === 'call' && returnNode !== null, 'lift needs a call event');
  // A call always has a predecessor (at least the head) and a successor (at least its return).
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  returnNode.prev!.next = returnNode.next;
  if (returnNode.next !== null) returnNode.next.prev = returnNode.prev;
}

/** Undoes `lift`. Only valid in reverse order of lifting, which the search's stack guarantees. */
export function unlift(call: EventNode): void {
  const returnNode = call.match;
  assert(call.kind === 'call' && returnNode !== null, 'unlift needs a call event');
  returnNode.prev!.next = returnNode;
  if (returnNode.next !== null) returnNode.next.prev = returnNode;
  call.prev!.next = call;
  call.next!.prev = call;
}
