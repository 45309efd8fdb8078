// A bounded FIFO on a ring buffer: O(1) push and shift at both the head and tail, and a hard
// capacity fixed at construction (TigerBeetle: every queue has a named bound).

import { assert } from '../raft/assert.js';

export class BoundedQueue<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    assert(
      Number.isInteger(capacity) && capacity >= 1,
      `queue capacity must be a positive integer: ${capacity}`,
    );
    this.items = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  /** Appends `item`; the caller decides what to drop first when the queue is full. */
  push(item: T): void {
    assert(this.size < this.capacity, 'push on a full queue');
    this.items[(this.head + this.size) % this.capacity] = item;
    this.size++;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  /** Removes every item for which `remove` is true, preserving the order of the rest; returns the removed. */
  removeWhere(remove: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const count = this.size;
    for (let i = 0; i < count; i++) {
      const item = this.shift() as T;
      if (remove(item)) removed.push(item);
      else this.push(item);
    }
    return removed;
  }
}
