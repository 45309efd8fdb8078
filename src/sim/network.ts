// A seeded network between simulated nodes: delay (and so reordering), loss, duplication,
// symmetric and one-way partitions, and links clogged one at a time (messages held back until
// the link is unclogged, like a congested or flapping connection).

import type { SeededRng } from '../raft/rng.js';
import { type Message, MessageType, type NodeId } from '../raft/types.js';
import type { EventQueue } from './queue.js';

export interface NetworkSettings {
  dropRate: number;
  duplicateRate: number;
  delayMinMs: number;
  delayMaxMs: number;
  /** Probability that a message takes a long detour (reordering far beyond the usual jitter). */
  spikeRate: number;
  spikeMaxMs: number;
}

/**
 * Client-forwarding messages are exempt from duplication: a real transport (TCP) never delivers
 * a frame twice, and a duplicated forwarded proposal would be a second, different request.
 */
function duplicable(type: MessageType): boolean {
  return (
    type !== MessageType.Forward &&
    type !== MessageType.ForwardReject &&
    type !== MessageType.ReadIndex &&
    type !== MessageType.ReadIndexResponse
  );
}

function link(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

export class SimNetwork {
  private readonly blocked = new Set<string>();
  private readonly clogged = new Map<string, Message[]>();
  delivered = 0;
  dropped = 0;

  constructor(
    readonly settings: NetworkSettings,
    private readonly queue: EventQueue,
    private readonly rng: SeededRng,
    private readonly deliver: (m: Message) => void,
  ) {}

  /** Sends `m`; `outcome`, if given, learns whether it arrived (as a stream's sender would). */
  send(m: Message, outcome?: (delivered: boolean) => void): void {
    if (this.blocked.has(link(m.from, m.to)) || this.rng.chance(this.settings.dropRate)) {
      this.dropped++;
      outcome?.(false);
      return;
    }
    const held = this.clogged.get(link(m.from, m.to));
    if (held !== undefined) {
      held.push(m);
      outcome?.(false); // the stream times out; the message may still arrive later
      return;
    }
    this.scheduleDelivery(m, outcome);
    if (duplicable(m.type) && this.rng.chance(this.settings.duplicateRate)) this.scheduleDelivery(m);
  }

  private scheduleDelivery(m: Message, outcome?: (delivered: boolean) => void): void {
    const { delayMinMs, delayMaxMs, spikeRate, spikeMaxMs } = this.settings;
    let delayMs = delayMinMs + this.rng.nextInt(delayMaxMs - delayMinMs + 1);
    if (this.rng.chance(spikeRate)) delayMs += this.rng.nextInt(spikeMaxMs);
    this.queue.schedule(delayMs, () => {
      // A partition that started while the message was in flight still cuts it.
      if (this.blocked.has(link(m.from, m.to))) {
        this.dropped++;
        outcome?.(false);
        return;
      }
      this.delivered++;
      this.deliver(m);
      outcome?.(true);
    });
  }

  /** Cuts traffic between the two sides, in both directions. */
  partition(sideA: readonly NodeId[], sideB: readonly NodeId[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.blocked.add(link(a, b));
        this.blocked.add(link(b, a));
      }
    }
  }

  /** One-way loss: `from` can no longer reach `to`, while `to` still reaches `from`. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.blocked.add(link(from, to));
  }

  clog(from: NodeId, to: NodeId): void {
    if (!this.clogged.has(link(from, to))) this.clogged.set(link(from, to), []);
  }

  unclog(from: NodeId, to: NodeId): void {
    const held = this.clogged.get(link(from, to));
    if (held === undefined) return;
    this.clogged.delete(link(from, to));
    for (const m of held) this.scheduleDelivery(m);
  }

  healPartitions(): void {
    this.blocked.clear();
  }

  healAll(): void {
    this.blocked.clear();
    for (const key of [...this.clogged.keys()]) {
      const [from, to] = key.split('>').map((id) => BigInt(id));
      this.unclog(from, to);
    }
    this.settings.dropRate = 0;
    this.settings.duplicateRate = 0;
    this.settings.spikeRate = 0;
  }
}
