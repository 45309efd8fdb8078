// One simulated node: the real RawNode, the real write-ahead log and snapshot files on a
// simulated disk (SimDisk), and the KV state machine, driven by the Ready contract (raw-node.ts).
// A Ready's records are written at once and fsynced after a simulated latency (a Ready that only
// moves the commit index is not fsynced, as in the server); a crash throws away everything not
// yet fsynced (sometimes leaving a torn prefix of it), exactly like a real process killed with
// SIGKILL, and the node restarts through the WAL's real recovery.

import type { PlantedBug } from '../raft/config.js';
import { ProposalRefusedError, RawNode, type Ready } from '../raft/raw-node.js';
import type { SeededRng } from '../raft/rng.js';
import {
  type ConfChange,
  type Entry,
  EntryType,
  type Message,
  type NodeId,
  Role,
  type Snapshot,
} from '../raft/types.js';
import { WalFailedError } from '../storage/errors.js';
import { SimDisk } from '../storage/sim-disk.js';
import { SnapshotStore } from '../storage/snapshot-file.js';
import { WalLogStore } from '../storage/wal-log-store.js';
import { type Command, type CommandResult, decodeCommand, encodeCommand, KvMachine } from './kv-machine.js';
import type { EventQueue } from './queue.js';

const SIM_CLUSTER_ID = 0x5151n;

export interface NodeSettings {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly tickMs: number;
  readonly maxMessageBytes: number;
  readonly maxInflightMessages: number;
  readonly snapshotEveryEntries: number;
  /** Normal fsync latency; on real machines an fsync is slower than a loopback round trip. */
  readonly fsyncBaseMs: number;
  readonly plantedBug: PlantedBug | null;
}

/** What a node reports to the rest of the simulation. */
export interface NodeObserver {
  send(m: Message): void;
  persisted(node: SimNode, entries: readonly Entry[]): void;
  applied(node: SimNode, entry: Entry): void;
  installedSnapshot(node: SimNode, snapshot: Snapshot): void;
  becameLeader(node: SimNode): void;
  stepped(node: SimNode): void;
  commandApplied(node: SimNode, result: CommandResult): void;
  proposalRefused(node: SimNode, commandId: number): void;
  readDone(node: SimNode, readId: number, value: string | null): void;
  readRefused(node: SimNode, readId: number): void;
}

interface WaitingRead {
  readonly index: number;
  readonly readId: number;
  readonly key: string;
}

export class SimNode {
  raw: RawNode | null = null;
  machine = new KvMachine();
  /** The node's disk: what survives a crash is what was fsynced. */
  readonly simDisk: SimDisk;
  /** The WAL-backed log, reopened (through recovery) after every crash. */
  disk: WalLogStore;
  /** Bumped on every crash, so events scheduled by an earlier life are ignored. */
  incarnation = 0;
  fsyncLatencyMs: number;
  /** Clock skew: this node's ticks are this many times slower than real time (1 = accurate). */
  clockSlowdown = 1;
  /** The next fsync fails: the node crashes (etcd and PostgreSQL treat fsync failure as fatal). */
  failNextFsync = false;
  private persisting = false;
  /** SIGSTOP: no ticks, and everything addressed to the node waits until it is resumed. */
  private paused = false;
  private held: (() => void)[] = [];
  private readonly readKeys = new Map<number, string>();
  private waitingReads: WaitingRead[] = [];

  constructor(
    readonly id: NodeId,
    private readonly settings: NodeSettings,
    private readonly queue: EventQueue,
    private readonly rng: SeededRng,
    private readonly observer: NodeObserver,
  ) {
    this.fsyncLatencyMs = settings.fsyncBaseMs;
    this.simDisk = new SimDisk(() => rng.nextFloat());
    this.disk = this.openLog();
  }

  private openLog(): WalLogStore {
    return WalLogStore.open({
      disk: this.simDisk,
      walDir: '/node/wal',
      snapshots: new SnapshotStore({ disk: this.simDisk, dir: '/node/snap' }),
      clusterId: SIM_CLUSTER_ID,
      groupId: 0,
      // Small segments, so rollover and segment release happen within a short run.
      segmentBytesMax: 16 * 1024,
    });
  }

  /** Writes the initial membership (a snapshot at index 1) before the first start. */
  bootstrap(voters: readonly NodeId[]): void {
    this.disk.applySnapshot({
      metadata: { index: 1, term: 1, confState: { voters: voters.slice(), learners: [] } },
      data: new Uint8Array(0),
    });
    this.disk.save({ term: 1, vote: 0n, commit: 1 }, []);
    this.disk.sync();
  }

  restoreDiskSpeed(): void {
    this.fsyncLatencyMs = this.settings.fsyncBaseMs;
  }

  get running(): boolean {
    return this.raw !== null;
  }

  /** Starts (or restarts) from what is on disk. */
  start(): void {
    const snapshot = this.disk.snapshot();
    this.machine = KvMachine.restore(snapshot.data);
    this.raw = new RawNode({
      id: this.id,
      logStore: this.disk,
      rng: this.rng,
      applied: snapshot.metadata.index,
      electionTicks: this.settings.electionTicks,
      heartbeatTicks: this.settings.heartbeatTicks,
      maxMessageBytes: this.settings.maxMessageBytes,
      maxInflightMessages: this.settings.maxInflightMessages,
      plantedBug: this.settings.plantedBug,
    });
    this.persisting = false;
    this.readKeys.clear();
    this.waitingReads = [];
    const life = this.incarnation;
    // Nodes tick on their own schedules: start at a random phase within one tick.
    this.queue.schedule(this.rng.nextInt(this.settings.tickMs) + 1, () => this.tickLoop(life));
  }

  crash(): void {
    this.raw = null;
    this.incarnation++;
    this.persisting = false;
    this.paused = false;
    this.held = [];
    // Power is cut: unsynced bytes vanish (sometimes a torn prefix survives). Recovery runs now
    // so `disk` always shows what a restart would find.
    this.simDisk.crash({ tornWrites: this.rng.chance(0.5) });
    this.disk = this.openLog();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const run of held) run();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Runs `work` now, or when the node is resumed if it is paused. */
  whenRunnable(work: () => void): void {
    if (this.paused) this.held.push(work);
    else work();
  }

  private tickLoop(life: number): void {
    if (life !== this.incarnation || this.raw === null) return;
    const tickMs = this.settings.tickMs * this.clockSlowdown;
    if (this.paused) {
      this.queue.schedule(tickMs, () => this.tickLoop(life));
      return;
    }
    this.raw.tick();
    this.afterInput();
    this.queue.schedule(tickMs, () => this.tickLoop(life));
  }

  receive(m: Message): void {
    if (this.raw === null) return;
    if (this.paused) {
      this.held.push(() => this.receive(m));
      return;
    }
    this.raw.step(m);
    this.afterInput();
  }

  isLeader(): boolean {
    return this.raw?.raft.role === Role.Leader;
  }

  // ---- client entry points -----------------------------------------------------------------------

  /** Returns false if the node refused at once (definitely not applied). */
  propose(command: Command): boolean {
    if (this.raw === null) return false;
    try {
      this.raw.propose(encodeCommand(command));
    } catch (error) {
      if (error instanceof ProposalRefusedError) return false;
      throw error;
    }
    this.afterInput();
    return true;
  }

  proposeConfChange(change: ConfChange): boolean {
    if (this.raw === null) return false;
    try {
      this.raw.proposeConfChange(change);
    } catch (error) {
      if (error instanceof ProposalRefusedError) return false;
      throw error;
    }
    this.afterInput();
    return true;
  }

  reportSnapshot(peer: NodeId, failed: boolean): void {
    if (this.raw === null) return;
    this.whenRunnable(() => {
      if (this.raw === null) return;
      this.raw.reportSnapshot(peer, failed);
      this.afterInput();
    });
  }

  transferLeadership(target: NodeId): void {
    if (this.raw === null) return;
    this.raw.transferLeadership(target);
    this.afterInput();
  }

  /** Linearizable read through ReadIndex. Returns false if refused at once. */
  read(readId: number, key: string): boolean {
    if (this.raw === null) return false;
    try {
      this.raw.readIndex(new TextEncoder().encode(String(readId)));
    } catch (error) {
      if (error instanceof ProposalRefusedError) return false;
      throw error;
    }
    this.readKeys.set(readId, key);
    this.afterInput();
    return true;
  }

  // ---- the Ready loop --------------------------------------------------------------------------

  private afterInput(): void {
    this.observer.stepped(this);
    this.maybeProcessReady();
  }

  private maybeProcessReady(): void {
    const raw = this.raw;
    if (raw === null || this.persisting || !raw.hasReady()) return;
    const rd = raw.ready();
    if (rd.softState?.role === Role.Leader) this.observer.becameLeader(this);
    // Contract step 1 ∥ leader messages: these may leave before the fsync.
    for (const m of rd.messages) this.observer.send(m);
    if (!rd.mustSync && rd.snapshot === null) {
      // As in the server (src/server/node.ts): a commit-index-only change is buffered until the
      // next fsync writes it, and the Ready is applied at once. A crash may lose it — harmless,
      // the leader tells the commit index again — even after a snapshot of what it let us apply
      // was synced (the restart case 'applied beyond committed' in src/raft/raft.ts).
      this.disk.save(rd.hardState, []);
      this.finishReady(rd);
      return;
    }
    this.persisting = true;
    this.writeReady(rd);
    const life = this.incarnation;
    this.queue.schedule(this.fsyncLatencyMs, () =>
      this.whenRunnable(() => {
        if (life !== this.incarnation) return; // crashed while the write was in flight: it is lost
        if (!this.fsync()) return;
        if (rd.entries.length > 0) this.observer.persisted(this, rd.entries);
        this.finishReady(rd);
      }),
    );
  }

  /** Contract step 1, first half: the Ready's records reach the disk, not yet durable. */
  private writeReady(rd: Ready): void {
    if (rd.snapshot !== null) {
      // Installing a snapshot is synchronous and durable (file, then WAL marker, then sync);
      // entries in the same Ready follow it in the log.
      this.disk.applySnapshot(rd.snapshot);
      this.machine = KvMachine.restore(rd.snapshot.data);
      this.observer.installedSnapshot(this, rd.snapshot);
    }
    this.disk.save(rd.hardState, rd.entries);
    this.disk.wal.flushBuffered();
  }

  /** Contract step 1, second half. Returns false if the fsync failed and the node crashed. */
  private fsync(): boolean {
    if (this.failNextFsync) {
      this.failNextFsync = false;
      this.simDisk.failNextSyncs(1);
    }
    try {
      this.disk.wal.syncFlushed();
    } catch (error) {
      // fsyncgate: after a failed fsync the page cache cannot be trusted; crash and recover.
      if (!(error instanceof WalFailedError)) throw error;
      this.crash();
      return false;
    }
    this.disk.releaseSegments();
    return true;
  }

  private finishReady(rd: Ready): void {
    const raw = this.raw!;
    this.persisting = false;
    for (const m of rd.messagesAfterPersist) this.observer.send(m);
    for (const entry of rd.committedEntries) this.applyEntry(entry);
    for (const state of rd.readStates) {
      const readId = Number(new TextDecoder().decode(state.context));
      const key = this.readKeys.get(readId);
      if (key === undefined) continue;
      this.readKeys.delete(readId);
      this.waitingReads.push({ index: state.index, readId, key });
    }
    for (const refusal of rd.refusals) this.handleRefusal(refusal.kind, refusal.context);
    raw.advance(rd);
    this.answerReads();
    this.maybeSnapshot();
    this.observer.stepped(this);
    this.maybeProcessReady();
  }

  private applyEntry(entry: Entry): void {
    this.observer.applied(this, entry);
    if (entry.type !== EntryType.Normal || entry.data.byteLength === 0) return;
    const result = this.machine.apply(decodeCommand(entry.data));
    this.observer.commandApplied(this, result);
  }

  private handleRefusal(kind: 'proposal' | 'read', context: Uint8Array): void {
    if (kind === 'read') {
      const readId = Number(new TextDecoder().decode(context));
      if (this.readKeys.delete(readId)) this.observer.readRefused(this, readId);
      return;
    }
    if (context.byteLength === 0) return;
    const text = new TextDecoder().decode(context);
    if (!text.startsWith('{')) return; // a membership change: not a client command
    this.observer.proposalRefused(this, decodeCommand(context).id);
  }

  private answerReads(): void {
    const applied = this.raw!.raft.log.applied;
    const ready = this.waitingReads.filter((read) => read.index <= applied);
    if (ready.length === 0) return;
    this.waitingReads = this.waitingReads.filter((read) => read.index > applied);
    for (const read of ready) this.observer.readDone(this, read.readId, this.machine.get(read.key));
  }

  /** Log compaction (Raft §7): snapshot the state machine and drop the log prefix. */
  private maybeSnapshot(): void {
    const raft = this.raw!.raft;
    const applied = raft.log.applied;
    const snapshotIndex = this.disk.snapshot().metadata.index;
    if (applied - snapshotIndex < this.settings.snapshotEveryEntries) return;
    // Only durable entries can be compacted; applied entries always are (see the contract).
    if (applied > this.disk.wal.lastIndex()) return;
    const metadata = {
      index: applied,
      term: this.disk.term(applied),
      confState: raft.membership.toConfState(),
    };
    this.disk.createSnapshot(metadata, this.machine.serialize());
    // Keep a few entries so slightly-behind followers catch up from the log, not a snapshot.
    this.disk.compact(Math.max(this.disk.firstIndex(), applied - 5));
  }
}
