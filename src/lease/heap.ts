// A binary min-heap of (lease id, time) entries for the lessor's expiry and checkpoint queues.
// Entries are never updated in place: a newer entry is pushed and stale ones are skipped when
// popped (the owner checks validity), so push and pop stay O(log n).

export interface TimedLease {
  readonly id: bigint;
  readonly timeMs: number;
}

export class LeaseHeap {
  private items: TimedLease[] = [];

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items = [];
  }

  push(item: TimedLease): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.timeMs <= item.timeMs) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  peek(): TimedLease | undefined {
    return this.items[0];
  }

  pop(): TimedLease | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]!.timeMs < items[left]!.timeMs ? right : left;
      if (items[child]!.timeMs >= last.timeMs) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
