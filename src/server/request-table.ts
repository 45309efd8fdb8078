// The writes a member waits on, by request id: ids are handed out in increasing order and mostly
// finish in that order, so they live in a ring indexed by id instead of a Map.
//
// Why not a Map: V8 rehashes a Map's table every few dozen inserts under this churn, and an old
// table keeps a link to its successor and its stale entries. Once one table has reached the old
// generation, every later table and every request it held survive each scavenge until a full GC:
// at 64 puts in flight the leader promoted most of each request's objects that way. The ring's one
// array stays put, and a finished request's slot is cleared.

import { assert } from '../raft/assert.js';

const INITIAL_CAPACITY = 1024;

export class RequestTable<T> {
  private slots: (T | undefined)[] = new Array(INITIAL_CAPACITY).fill(undefined);
  /** The lowest id that may be present; when any is, its slot is occupied. */
  private start = 0;
  /** One past the highest id set so far. */
  private end = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `value` under `id`, which must be higher than every id added before. */
  set(id: number, value: T): void {
    assert(
      Number.isSafeInteger(id) && id >= this.end,
      `request ids must increase: ${id} after ${this.end - 1}`,
    );
    if (this.count === 0) this.start = id;
    const span = id + 1 - this.start;
    if (span > this.slots.length) this.grow(span);
    this.slots[id % this.slots.length] = value;
    this.end = id + 1;
    this.count++;
  }

  get(id: number): T | undefined {
    if (id < this.start || id >= this.end) return undefined;
    return this.slots[id % this.slots.length];
  }

  /** Removes `id`; false if it was not there. */
  delete(id: number): boolean {
    if (id < this.start || id >= this.end || this.slots[id % this.slots.length] === undefined) return false;
    this.slots[id % this.slots.length] = undefined;
    this.count--;
    if (this.count === 0) this.start = this.end;
    else if (id === this.start) {
      while (this.slots[this.start % this.slots.length] === undefined) this.start++;
    }
    return true;
  }

  /** The lowest id present, or -1 when the table is empty. */
  oldestId(): number {
    return this.count === 0 ? -1 : this.start;
  }

  /** Empties the table; returns what it held, lowest id first. */
  drain(): T[] {
    const values: T[] = [];
    for (let id = this.start; id < this.end; id++) {
      const value = this.slots[id % this.slots.length];
      if (value === undefined) continue;
      values.push(value);
      this.slots[id % this.slots.length] = undefined;
    }
    this.count = 0;
    this.start = this.end;
    return values;
  }

  private grow(span: number): void {
    let capacity = this.slots.length;
    while (capacity < span) capacity *= 2;
    const slots: (T | undefined)[] = new Array(capacity).fill(undefined);
    for (let id = this.start; id < this.end; id++) slots[id % capacity] = this.slots[id % this.slots.length];
    this.slots = slots;
  }
}
