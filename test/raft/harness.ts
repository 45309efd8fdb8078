// A small deterministic harness for the consensus core: N RawNodes over MemoryLogStores, a
// message router with per-link drops, and a Ready loop that follows the contract documented at
// the top of src/raft/raw-node.ts (persist → send → apply → advance). No clocks, no timers:
// time moves only when a test calls tick(), and randomness comes from SeededRng.

import {
  type ConfChange,
  ConfChangeType,
  type Entry,
  EntryType,
  MemoryLogStore,
  type Message,
  type NodeId,
  type RaftOptions,
  RawNode,
  type ReadState,
  type Ready,
  type Refusal,
  Role,
  SeededRng,
  type Snapshot,
} from '../../src/raft/index.js';

/** Upper bound on Ready/deliver rounds in one stabilize(); a livelock fails the test instead of hanging. */
export const MAX_STABILIZE_ROUNDS = 10_000;
/** Upper bound on ticks while waiting for an election. */
export const MAX_TICKS_UNTIL_LEADER = 1_000;

export type RaftOverrides = Partial<Omit<RaftOptions, 'id' | 'logStore' | 'rng'>>;

export interface ClusterOptions {
  /** Voters get ids 1..voters. */
  readonly voters: number;
  /** Learners get ids voters+1..voters+learners. */
  readonly learners?: number;
  readonly seed?: number;
  readonly config?: RaftOverrides;
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

export function confChange(type: ConfChangeType, nodeId: NodeId): ConfChange {
  return { type, nodeId, context: new Uint8Array(0) };
}
export const addLearner = (id: NodeId) => confChange(ConfChangeType.AddLearner, id);
export const addVoter = (id: NodeId) => confChange(ConfChangeType.AddVoter, id);
export const removeNode = (id: NodeId) => confChange(ConfChangeType.RemoveNode, id);

export class TestNode {
  raw: RawNode;
  /** Every entry handed out in committedEntries, in order (the "applied" stream). */
  readonly committed: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly refusals: Refusal[] = [];
  readonly readies: Ready[] = [];
  readonly snapshotsInstalled: Snapshot[] = [];

  constructor(
    readonly id: NodeId,
    readonly store: MemoryLogStore,
    raw: RawNode,
  ) {
    this.raw = raw;
  }

  get role(): Role {
    return this.raw.raft.role;
  }

  get term(): number {
    return this.raw.raft.term;
  }

  /** Data of committed application entries (no-ops and conf changes left out). */
  committedData(): string[] {
    return this.committed
      .filter((entry) => entry.type === EntryType.Normal && entry.data.byteLength > 0)
      .map((entry) => text(entry.data));
  }
}

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent but not yet delivered. */
  network: Message[] = [];
  /** Every message any node sent, in order (including those the network later drops). */
  readonly sent: Message[] = [];
  /** Every message the network dropped. */
  readonly dropped: Message[] = [];
  /** Extra drop rule, evaluated when a message would be delivered. */
  dropIf: ((m: Message) => boolean) | null = null;
  private readonly isolated = new Set<NodeId>();
  private readonly cutLinks = new Set<string>();
  private readonly seed: number;
  private readonly config: RaftOverrides;
  private incarnation = 0;

  constructor(options: ClusterOptions) {
    this.seed = options.seed ?? 1;
    this.config = options.config ?? {};
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (let i = 1; i <= options.voters; i++) voters.push(BigInt(i));
    for (let i = 1; i <= (options.learners ?? 0); i++) learners.push(BigInt(options.voters + i));
    for (const id of [...voters, ...learners]) {
      // Bootstrap as src/sim/run.ts does: a snapshot at index 1 carrying the initial membership.
      const store = new MemoryLogStore();
      store.applySnapshot({
        metadata: { index: 1, term: 1, confState: { voters: voters.slice(), learners: learners.slice() } },
        data: new Uint8Array(0),
      });
      store.setHardState({ term: 1, vote: 0n, commit: 1 });
      this.nodes.set(id, new TestNode(id, store, this.newRawNode(id, store, 0)));
    }
  }

  private newRawNode(id: NodeId, store: MemoryLogStore, applied: number): RawNode {
    const rng = new SeededRng(this.seed * 1_000 + Number(id) * 31 + this.incarnation++);
    return new RawNode({ ...this.config, id, logStore: store, rng, applied });
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** The leader with the highest term, or null. */
  leader(): TestNode | null {
    let best: TestNode | null = null;
    for (const node of this.nodes.values()) {
      if (node.role === Role.Leader && (best === null || node.term > best.term)) best = node;
    }
    return best;
  }

  // ---- network ---------------------------------------------------------------------------------

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  rejoin(id: NodeId): void {
    this.isolated.delete(id);
  }

  /** Drops every message from `from` to `to` (one direction). */
  cut(from: NodeId, to: NodeId): void {
    this.cutLinks.add(`${from}->${to}`);
  }

  heal(): void {
    this.isolated.clear();
    this.cutLinks.clear();
    this.dropIf = null;
  }

  private isDropped(m: Message): boolean {
    return (
      this.isolated.has(m.from) ||
      this.isolated.has(m.to) ||
      this.cutLinks.has(`${m.from}->${m.to}`) ||
      !this.nodes.has(m.to) ||
      (this.dropIf?.(m) ?? false)
    );
  }

  private send(m: Message): void {
    this.sent.push(m);
    this.network.push(m);
  }

  /** Hands `m` to its destination unless the network drops it. Returns true if delivered. */
  deliver(m: Message): boolean {
    if (this.isDropped(m)) {
      this.dropped.push(m);
      return false;
    }
    this.node(m.to).raw.step(m);
    return true;
  }

  /** Delivers what is in flight now (messages sent while delivering wait for the next round). */
  deliverAll(): void {
    const batch = this.network;
    this.network = [];
    for (const m of batch) this.deliver(m);
  }

  /** Removes and returns the in-flight messages matching `predicate` (to deliver later, or never). */
  take(predicate: (m: Message) => boolean): Message[] {
    const taken = this.network.filter(predicate);
    this.network = this.network.filter((m) => !predicate(m));
    return taken;
  }

  // ---- the Ready loop --------------------------------------------------------------------------

  /** Processes one Ready of `id` in contract order. Returns false if it had none. */
  processReady(id: NodeId): boolean {
    const node = this.node(id);
    if (!node.raw.hasReady()) return false;
    const rd = node.raw.ready();
    checkCommittedEntriesAreDurable(node, rd);
    node.readies.push(rd);
    // 1. Persist.
    if (rd.snapshot !== null) {
      node.store.applySnapshot(rd.snapshot);
      node.snapshotsInstalled.push(rd.snapshot);
    }
    if (rd.entries.length > 0) node.store.append(rd.entries);
    if (rd.hardState !== null) node.store.setHardState(rd.hardState);
    // 2. Send (leader messages could have gone before the persist; after is also allowed).
    for (const m of rd.messages) this.send(m);
    for (const m of rd.messagesAfterPersist) this.send(m);
    // 3. Apply.
    node.committed.push(...rd.committedEntries);
    node.readStates.push(...rd.readStates);
    node.refusals.push(...rd.refusals);
    // 4. Advance.
    node.raw.advance(rd);
    return true;
  }

  /** Processes Readies and delivers messages until nothing is left to do. */
  stabilize(): void {
    for (let round = 0; round < MAX_STABILIZE_ROUNDS; round++) {
      let busy = false;
      for (const id of this.nodes.keys()) if (this.processReady(id)) busy = true;
      if (this.network.length > 0) {
        this.deliverAll();
        busy = true;
      }
      if (!busy) return;
    }
    throw new Error(`cluster did not stabilize within ${MAX_STABILIZE_ROUNDS} rounds`);
  }

  // ---- time and elections ------------------------------------------------------------------------

  /** Ticks one node `count` times, stabilizing after each tick. */
  tick(id: NodeId, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.node(id).raw.tick();
      this.stabilize();
    }
  }

  /** Ticks every node `count` times, stabilizing after each round of ticks. */
  tickAll(count = 1): void {
    for (let i = 0; i < count; i++) {
      for (const node of this.nodes.values()) node.raw.tick();
      this.stabilize();
    }
  }

  /** Ticks everyone until some node (among `candidates`, if given) leads. */
  tickUntilLeader(candidates?: readonly NodeId[]): TestNode {
    for (let i = 0; i < MAX_TICKS_UNTIL_LEADER; i++) {
      const leader = this.leader();
      if (leader !== null && (candidates === undefined || candidates.includes(leader.id))) return leader;
      this.tickAll();
    }
    throw new Error(`no leader after ${MAX_TICKS_UNTIL_LEADER} ticks`);
  }

  /** Makes `id` campaign now and settles the election; throws unless it won. */
  elect(id: NodeId): TestNode {
    this.node(id).raw.campaign();
    this.stabilize();
    const node = this.node(id);
    if (node.role !== Role.Leader) throw new Error(`node ${id} did not win (role ${node.role})`);
    return node;
  }

  propose(id: NodeId, data: string | Uint8Array): void {
    this.node(id).raw.propose(typeof data === 'string' ? bytes(data) : data);
  }

  committed(id: NodeId): readonly Entry[] {
    return this.node(id).committed;
  }

  /** Restarts `id` from what its store holds (everything the harness persisted survives). */
  restart(id: NodeId, applied: number): TestNode {
    const old = this.node(id);
    const node = new TestNode(id, old.store, this.newRawNode(id, old.store, applied));
    this.nodes.set(id, node);
    this.network = this.network.filter((m) => m.to !== id);
    return node;
  }

  /** Log compaction on `id` (Raft §7): snapshot at `index` (≤ applied) and drop the prefix. */
  compact(id: NodeId, index: number, data: Uint8Array): void {
    const node = this.node(id);
    const confState = node.raw.membership().toConfState();
    node.store.createSnapshot({ index, term: node.store.term(index), confState }, data);
    node.store.compact(index);
  }
}

/**
 * The Ready contract's step 3: committedEntries are always durable locally. Checked on every
 * Ready the harness processes, before that Ready's own entries are persisted.
 */
function checkCommittedEntriesAreDurable(node: TestNode, rd: Ready): void {
  for (const entry of rd.committedEntries) {
    const durable = entry.index <= node.store.lastIndex() && node.store.term(entry.index) === entry.term;
    if (!durable) {
      throw new Error(
        `Ready contract broken on node ${node.id}: committed entry ${entry.index} (term ${entry.term}) is not persisted`,
      );
    }
  }
}
