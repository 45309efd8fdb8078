// ReadIndex bookkeeping (thesis §6.4): a read request records the commit index at the time it
// arrives, then waits for a quorum of heartbeat acknowledgements carrying its context, which
// proves that no other leader existed when it arrived.

import type { Message, NodeId } from './types.js';

export interface PendingRead {
  readonly index: number;
  readonly request: Message;
  readonly acks: Set<NodeId>;
}

function contextKey(context: Uint8Array): string {
  return Buffer.from(context.buffer, context.byteOffset, context.byteLength).toString('latin1');
}

export class ReadOnlyQueue {
  private readonly pending = new Map<string, PendingRead>();
  private readonly queue: string[] = [];

  add(index: number, request: Message): void {
    const key = contextKey(request.context);
    if (this.pending.has(key)) return; // a duplicate context waits with the original
    this.pending.set(key, { index, request, acks: new Set() });
    this.queue.push(key);
  }

  /** Records an acknowledgement; returns the acks so far, or null if the context is unknown. */
  recordAck(from: NodeId, context: Uint8Array): ReadonlySet<NodeId> | null {
    const read = this.pending.get(contextKey(context));
    if (read === undefined) return null;
    read.acks.add(from);
    return read.acks;
  }

  /**
   * Releases the read with this context and every read queued before it: a quorum confirming a
   * later heartbeat also confirms leadership for the earlier requests.
   */
  release(context: Uint8Array): PendingRead[] {
    const key = contextKey(context);
    const position = this.queue.indexOf(key);
    if (position < 0) return [];
    const released = this.queue.splice(0, position + 1).map((k) => this.pending.get(k)!);
    for (const k of released) this.pending.delete(contextKey(k.request.context));
    return released;
  }

  lastContext(): Uint8Array | null {
    if (this.queue.length === 0) return null;
    return this.pending.get(this.queue[this.queue.length - 1])!.request.context;
  }

  /** Empties the queue (leadership lost) and returns what was waiting, so it can be refused. */
  drain(): PendingRead[] {
    const all = this.queue.map((k) => this.pending.get(k)!);
    this.queue.length = 0;
    this.pending.clear();
    return all;
  }

  size(): number {
    return this.queue.length;
  }
}
