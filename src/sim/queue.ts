// A deterministic event queue: events run in (time, sequence) order, so two events at the same
// simulated millisecond always run in the order they were scheduled. That order, plus the seed,
// is the whole of a run's nondeterminism.

export interface SimEvent {
  readonly timeMs: number;
  readonly sequence: number;
  readonly run: () => void;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private sequence = 0;
  nowMs = 0;

  schedule(delayMs: number, run: () => void): void {
    const event = { timeMs: this.nowMs + Math.max(0, delayMs), sequence: this.sequence++, run };
    this.heap.push(event);
    this.siftUp(this.heap.length - 1);
  }

  size(): number {
    return this.heap.length;
  }

  /** Runs the next event; returns false when none is due at or before `untilMs`. */
  runNext(untilMs: number): boolean {
    const next = this.heap[0];
    if (next === undefined || next.timeMs > untilMs) return false;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    this.nowMs = next.timeMs;
    next.run();
    return true;
  }

  private before(a: SimEvent, b: SimEvent): boolean {
    return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.sequence < b.sequence);
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(heap[index], heap[parent])) return;
      [heap[index], heap[parent]] = [heap[parent], heap[index]];
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && this.before(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && this.before(heap[right], heap[smallest])) smallest = right;
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest], heap[index]];
      index = smallest;
    }
  }
}
