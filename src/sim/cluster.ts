// A simulated cluster: nodes, network, clients and the checkers, wired to one event queue.
// Everything random comes from one SeededRng, so a run is a function of its seed.

import { HistoryRecorder } from '../check/history.js';
import { type KvInput, type RegisterOutput, WRITE_OK } from '../check/models.js';
import type { SeededRng } from '../raft/rng.js';
import { decodeConfChange } from '../raft/tracker.js';
import {
  ConfChangeType,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type Snapshot,
} from '../raft/types.js';
import { Invariants } from './invariants.js';
import type { Command, CommandResult } from './kv-machine.js';
import { type NetworkSettings, SimNetwork } from './network.js';
import { type NodeObserver, type NodeSettings, SimNode } from './node.js';
import type { EventQueue } from './queue.js';
import { TraceHash } from './trace.js';

/** How long a removed node keeps running before it is stopped. */
const RETIRE_DELAY_MS = 200;
/** How long after a snapshot stream ends its sender reports the outcome. */
const SNAPSHOT_REPORT_DELAY_MS = 5;

interface PendingClientOp {
  readonly historyId: number;
  readonly node: NodeId;
  readonly kind: 'write' | 'cas' | 'read';
  readonly onDone: (outcome: ClientOutcome) => void;
}

export type ClientOutcome = 'ok' | 'fail' | 'info';

export class SimCluster implements NodeObserver {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly network: SimNetwork;
  readonly invariants = new Invariants(() =>
    [...this.nodes.values()].map((node) => ({ node, retired: this.retired.has(node.id) })),
  );
  readonly history = new HistoryRecorder<KvInput, RegisterOutput>();
  readonly trace = new TraceHash();
  /** Writes the clients were told succeeded, by command id. */
  readonly acknowledgedWrites = new Set<number>();
  /** Nodes removed from the cluster; ids are never reused (as in etcd). */
  readonly retired = new Set<NodeId>();
  private readonly pending = new Map<number, PendingClientOp>();
  private nextRequestId = 1;

  constructor(
    readonly queue: EventQueue,
    readonly rng: SeededRng,
    nodeIds: readonly NodeId[],
    nodeSettings: NodeSettings,
    networkSettings: NetworkSettings,
  ) {
    this.network = new SimNetwork(networkSettings, queue, rng, (m) => this.deliver(m));
    for (const id of nodeIds) this.nodes.set(id, new SimNode(id, nodeSettings, queue, rng, this));
  }

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const node of this.nodes.values()) {
      if (node.running && node.isLeader() && (best === null || node.raw!.raft.term > best.raw!.raft.term))
        best = node;
    }
    return best;
  }

  running(): SimNode[] {
    return [...this.nodes.values()].filter((node) => node.running && !this.retired.has(node.id));
  }

  private deliver(m: Message): void {
    const target = this.nodes.get(m.to);
    if (target === undefined || !target.running) return;
    this.trace.add(`d${m.from}>${m.to}:${m.type}:${m.term}:${m.index}:${m.entries.length}:${m.commit}`);
    target.receive(m);
  }

  // ---- client operations ---------------------------------------------------------------------

  private newRequestId(): number {
    return this.nextRequestId++;
  }

  /** Submits one client operation at `nodeId`; it completes via the observer callbacks or times out. */
  submit(
    client: number,
    nodeId: NodeId,
    input: KvInput,
    timeoutMs: number,
    onDone: (outcome: ClientOutcome) => void,
  ): void {
    const node = this.node(nodeId);
    const requestId = this.newRequestId();
    const historyId = this.history.invoke(client, input, this.queue.nowMs);
    const kind = input.type;
    this.pending.set(requestId, { historyId, node: nodeId, kind, onDone });
    this.trace.add(`c${client}@${nodeId}:${kind}:${requestId}`);
    this.queue.schedule(timeoutMs, () => this.timeout(requestId));
    node.whenRunnable(() => {
      if (!this.pending.has(requestId)) return;
      let accepted: boolean;
      if (input.type === 'read') accepted = node.read(requestId, input.key);
      else accepted = node.propose(this.command(requestId, input));
      if (!accepted) this.finish(requestId, 'fail');
    });
  }

  private command(id: number, input: KvInput): Command {
    if (input.type === 'write') return { id, op: 'put', key: input.key, value: input.value ?? '' };
    if (input.type === 'cas')
      return { id, op: 'cas', key: input.key, expected: input.expected, value: input.value ?? '' };
    throw new Error('reads are not commands');
  }

  private timeout(requestId: number): void {
    if (this.pending.has(requestId)) this.finish(requestId, 'info');
  }

  private finish(requestId: number, outcome: 'fail' | 'info' | { output: RegisterOutput }): void {
    const op = this.pending.get(requestId);
    if (op === undefined) return;
    this.pending.delete(requestId);
    if (outcome === 'fail') this.history.fail(op.historyId);
    else if (outcome === 'info') this.history.info(op.historyId);
    else {
      this.history.ok(op.historyId, outcome.output, this.queue.nowMs);
      if (op.kind !== 'read') this.acknowledgedWrites.add(requestId);
    }
    op.onDone(typeof outcome === 'string' ? outcome : 'ok');
  }

  /** Gives up on every pending operation (end of run): their outcome stays unknown. */
  abandonPending(): void {
    for (const requestId of [...this.pending.keys()]) this.finish(requestId, 'info');
  }

  // ---- NodeObserver ------------------------------------------------------------------------------

  send(m: Message): void {
    if (m.to === NONE) return;
    if (m.type !== MessageType.Snapshot) {
      this.network.send(m);
      return;
    }
    // A snapshot goes over a stream whose sender learns the outcome and reports it to raft,
    // which otherwise would wait in snapshot state forever after a lost snapshot.
    const sender = this.node(m.from);
    const life = sender.incarnation;
    this.network.send(m, (delivered) => {
      this.queue.schedule(SNAPSHOT_REPORT_DELAY_MS, () => {
        if (sender.incarnation === life) sender.reportSnapshot(m.to, !delivered);
      });
    });
  }

  persisted(node: SimNode, entries: readonly Entry[]): void {
    this.invariants.persisted(node, entries);
  }

  applied(node: SimNode, entry: Entry): void {
    this.invariants.applied(node, entry);
    if (entry.type !== EntryType.ConfChange) return;
    const change = decodeConfChange(entry.data);
    if (change.type !== ConfChangeType.RemoveNode || this.retired.has(change.nodeId)) return;
    // Decommission a removed node shortly after, as an operator would.
    this.retired.add(change.nodeId);
    const removed = this.node(change.nodeId);
    this.queue.schedule(RETIRE_DELAY_MS, () => {
      removed.crash();
      this.invariants.crashed(removed);
    });
  }

  installedSnapshot(node: SimNode, snapshot: Snapshot): void {
    this.trace.add(`s${node.id}:${snapshot.metadata.index}`);
  }

  becameLeader(node: SimNode): void {
    this.trace.add(`L${node.id}:${node.raw!.raft.term}`);
    this.invariants.becameLeader(node);
  }

  stepped(node: SimNode): void {
    this.invariants.stepped(node);
  }

  commandApplied(node: SimNode, result: CommandResult): void {
    const op = this.pending.get(result.id);
    // Only the node the client talked to answers it, as a real server would.
    if (op === undefined || op.node !== node.id) return;
    this.finish(result.id, { output: op.kind === 'cas' ? result.swapped : WRITE_OK });
  }

  proposalRefused(node: SimNode, commandId: number): void {
    const op = this.pending.get(commandId);
    if (op !== undefined && op.node === node.id) this.finish(commandId, 'fail');
  }

  readDone(node: SimNode, readId: number, value: string | null): void {
    const op = this.pending.get(readId);
    if (op !== undefined && op.node === node.id) this.finish(readId, { output: value });
  }

  readRefused(node: SimNode, readId: number): void {
    const op = this.pending.get(readId);
    if (op !== undefined && op.node === node.id) this.finish(readId, 'fail');
  }
}
