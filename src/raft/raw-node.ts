// The core's public face: inputs (tick, step, propose, proposeConfChange, readIndex,
// transferLeadership) and one output, the Ready batch.
//
// THE READY CONTRACT. For each Ready, the driver must, in this order:
//   1. Persist: write `hardState`, `entries` and `snapshot` to stable storage and fsync them
//      (entries of many groups may share one fsync: group commit).
//      `messages` may be sent BEFORE or IN PARALLEL with this step: they are a leader's appends,
//      heartbeats, snapshots and a candidate's pre-votes, which promise nothing about local
//      durability (Raft thesis §10.2.1 lets a leader replicate while it writes its own log).
//   2. Send `messagesAfterPersist` ONLY AFTER step 1 completed: they are vote grants, vote
//      requests (the candidate's own vote), append and heartbeat acknowledgements — each is a
//      promise that the hard state and entries behind it survive a crash.
//   3. Apply `committedEntries` to the state machine (they are always durable locally), install
//      `snapshot` into the state machine if present, and act on `readStates` and `refusals`.
//   4. Call `advance(ready)`. No new Ready is handed out before that, so nothing derived from
//      unpersisted state (for example a commit index counting our own unsynced entries) can
//      leave the node before the fsync that backs it.

import { assert } from './assert.js';
import type { RaftOptions } from './config.js';
import { Raft } from './raft.js';
import { decodeConfChange, encodeConfChange, type Membership } from './tracker.js';
import {
  type ConfChange,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  message,
  NONE,
  type NodeId,
  type ReadState,
  type Refusal,
  type RefusalReason,
  type Role,
  type Snapshot,
  type SoftState,
} from './types.js';

export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly refusals: readonly Refusal[];
  /** True when hard state or entries changed: the persist step needs an fsync. */
  readonly mustSync: boolean;
}

/** A proposal or read this node refused at once. */
export class ProposalRefusedError extends Error {
  constructor(readonly reason: RefusalReason) {
    super(`raft: proposal refused: ${reason}`);
    this.name = 'ProposalRefusedError';
  }
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly lead: NodeId;
  readonly role: Role;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Leader only: per-follower match index and flow-control state. */
  readonly progress: ReadonlyMap<NodeId, { match: number; next: number; state: string; inflight: number }>;
}

const EMPTY: readonly never[] = [];

export class RawNode {
  readonly raft: Raft;
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  private outstanding: Ready | null = null;

  constructor(options: RaftOptions) {
    this.raft = new Raft(options);
    this.previousSoftState = this.softState();
    this.previousHardState = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Feeds a message received from a peer. Local message types are refused. */
  step(m: Message): void {
    // Local-only types (Hup, Beat, Propose, CheckQuorum, reports) never come from a peer.
    const fromNetwork = m.type >= MessageType.Append && m.type < MessageType.Unreachable;
    assert(fromNetwork, `local message type ${m.type} from network`);
    this.raft.step(m);
  }

  /** Proposes application data. Throws ProposalRefusedError if this node knows of no leader. */
  propose(data: Uint8Array): void {
    this.proposeEntry(EntryType.Normal, data);
  }

  proposeConfChange(change: ConfChange): void {
    this.proposeEntry(EntryType.ConfChange, encodeConfChange(change));
  }

  private proposeEntry(type: EntryType, data: Uint8Array): void {
    if (this.raft.lead === NONE) throw new ProposalRefusedError('no-leader');
    this.raft.proposeEntries([{ term: 0, index: 0, type, data }]);
  }

  /**
   * Requests a linearizable read point. The answer arrives as a ReadState carrying `context`
   * (once applied ≥ its index, reading locally is linearizable) or as a refusal. `context` must
   * be unique across the whole cluster: the leader matches requests and heartbeat
   * acknowledgements by context alone, so a duplicate from another member would be merged.
   */
  readIndex(context: Uint8Array): void {
    if (this.raft.lead === NONE) throw new ProposalRefusedError('no-leader');
    this.raft.step(message({ type: MessageType.ReadIndex, from: this.raft.id, context }));
  }

  /** Asks the leader to hand leadership to `target` (thesis §3.10). */
  transferLeadership(target: NodeId): void {
    const context = new TextEncoder().encode(target.toString());
    this.raft.step(message({ type: MessageType.TransferLeader, from: this.raft.id, context }));
  }

  /** Starts an election now (tests and operators; normally elections start from ticks). */
  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup, from: this.raft.id }));
  }

  /** The driver could not reach `peer`: the leader stops pipelining to it. */
  reportUnreachable(peer: NodeId): void {
    this.raft.step(message({ type: MessageType.Unreachable, from: peer, to: this.raft.id }));
  }

  /** The driver finished (or failed) streaming a snapshot to `peer`. */
  reportSnapshot(peer: NodeId, failed: boolean): void {
    this.raft.step(
      message({ type: MessageType.SnapshotStatus, from: peer, to: this.raft.id, reject: failed }),
    );
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, role: this.raft.role };
  }

  private stableIndex(): number {
    return this.raft.log.unstable.offset - 1;
  }

  private committedEntries(): Entry[] {
    const log = this.raft.log;
    if (log.pendingSnapshot() !== null) return [];
    // Only entries already durable here are handed out to apply (see the contract above).
    const limit = Math.min(log.committed, this.stableIndex());
    if (limit <= log.applied) return [];
    return log.slice(log.applied + 1, limit + 1, this.raft.config.maxCommittedBytesPerReady);
  }

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const raft = this.raft;
    // A leader's pending broadcast (leader.flushAppends) always comes with new unstable entries
    // or a changed commit index, both checked below: no need to flush in a query.
    const soft = this.softState();
    const hard = raft.hardState();
    return (
      soft.leader !== this.previousSoftState.leader ||
      soft.role !== this.previousSoftState.role ||
      !hardStateEqual(hard, this.previousHardState) ||
      raft.log.unstable.entries.length > 0 ||
      raft.log.pendingSnapshot() !== null ||
      raft.messages.length > 0 ||
      raft.messagesAfterPersist.length > 0 ||
      raft.readStates.length > 0 ||
      raft.refusals.length > 0 ||
      this.committedEntries().length > 0
    );
  }

  ready(): Ready {
    assert(this.outstanding === null, 'ready() called again before advance()');
    const raft = this.raft;
    raft.leader?.flushAppends();
    const soft = this.softState();
    const hard = raft.hardState();
    const softChanged =
      soft.leader !== this.previousSoftState.leader || soft.role !== this.previousSoftState.role;
    const hardChanged = !hardStateEqual(hard, this.previousHardState);
    const entries = raft.log.unstable.entries.slice();
    const rd: Ready = {
      softState: softChanged ? soft : null,
      hardState: hardChanged ? hard : null,
      entries,
      snapshot: raft.log.pendingSnapshot(),
      committedEntries: this.committedEntries(),
      messages: raft.messages.length > 0 ? raft.messages : EMPTY,
      messagesAfterPersist: raft.messagesAfterPersist.length > 0 ? raft.messagesAfterPersist : EMPTY,
      readStates: raft.readStates.length > 0 ? raft.readStates : EMPTY,
      refusals: raft.refusals.length > 0 ? raft.refusals : EMPTY,
      mustSync:
        entries.length > 0 ||
        (hardChanged &&
          (hard.term !== this.previousHardState.term || hard.vote !== this.previousHardState.vote)),
    };
    raft.messages = [];
    raft.messagesAfterPersist = [];
    raft.readStates = [];
    raft.refusals = [];
    if (softChanged) this.previousSoftState = soft;
    this.outstanding = rd;
    return rd;
  }

  /** Acknowledges that `rd` was persisted, sent and applied (in that order). */
  advance(rd: Ready): void {
    assert(this.outstanding === rd, 'advance() must be called with the last Ready');
    this.outstanding = null;
    const log = this.raft.log;
    if (rd.hardState !== null) this.previousHardState = rd.hardState;
    if (rd.snapshot !== null) {
      log.unstable.stableSnapshotTo(rd.snapshot.metadata.index);
      log.appliedTo(rd.snapshot.metadata.index);
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      log.unstable.stableTo(last.index, last.term);
    }
    for (const entry of rd.committedEntries) {
      log.appliedTo(entry.index);
      if (entry.type === EntryType.ConfChange) this.applyConfChange(decodeConfChange(entry.data));
    }
  }

  private applyConfChange(change: ConfChange): void {
    const membership = this.raft.membership;
    // Validated when proposed; one change at a time keeps it valid when applied.
    if (membership.refusal(change) !== null) return;
    this.raft.applyMembership(membership.apply(change));
  }

  membership(): Membership {
    return this.raft.membership;
  }

  status(): Status {
    const raft = this.raft;
    const progress = new Map<NodeId, { match: number; next: number; state: string; inflight: number }>();
    if (raft.leader !== null) {
      for (const [id, p] of raft.leader.progress) {
        progress.set(id, { match: p.match, next: p.next, state: p.state, inflight: p.inflights.count() });
      }
    }
    const confState = raft.membership.toConfState();
    return {
      id: raft.id,
      term: raft.term,
      vote: raft.vote,
      lead: raft.lead,
      role: raft.role,
      commit: raft.log.committed,
      applied: raft.log.applied,
      lastIndex: raft.log.lastIndex(),
      firstIndex: raft.log.firstIndex(),
      voters: confState.voters,
      learners: confState.learners,
      progress,
    };
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
