// The Raft protocol rules as a pure state machine (etcd raft's raft.go). No I/O, no clocks, no
// randomness except the injected Rng: every input is a `tick()` or a message, every output is
// state plus messages collected for the next Ready. Leader-only rules live in leader.ts.

import { assert } from './assert.js';
import { type PlantedBug, type RaftConfig, type RaftOptions, validateConfig } from './config.js';
import { Leader } from './leader.js';
import { RaftLog } from './raft-log.js';
import { ReadOnlyQueue } from './read-only.js';
import { decodeConfChange, Membership, voteOutcome } from './tracker.js';
import {
  type Entry,
  EntryType,
  type HardState,
  isCommitOnly,
  type Message,
  MessageType,
  message,
  NONE,
  type NodeId,
  type ReadState,
  type Refusal,
  type RefusalReason,
  Role,
  type Snapshot,
} from './types.js';

/** Context of a vote request caused by leadership transfer: voters ignore their leader lease. */
export const TRANSFER_CONTEXT = new TextEncoder().encode('transfer');

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'no-leader',
  'transfer-in-progress',
  'conf-change-pending',
  'too-many-uncommitted-bytes',
  'not-a-member',
  'no-quorum-read-lease-without-check-quorum',
];

/** Messages that promise durable state: released only after the Ready's persist step. */
function needsPersistence(type: MessageType): boolean {
  return (
    type === MessageType.AppendResponse ||
    type === MessageType.VoteResponse ||
    type === MessageType.HeartbeatResponse ||
    type === MessageType.Vote
  );
}

export class Raft {
  readonly config: RaftConfig;
  readonly id: NodeId;
  readonly log: RaftLog;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = Role.Follower;
  membership: Membership;
  /** Leader state; null unless role is Leader. */
  leader: Leader | null = null;
  readonly votes = new Map<NodeId, boolean>();
  readonly readOnly = new ReadOnlyQueue();

  /** Outputs, collected until the next Ready. */
  messages: Message[] = [];
  messagesAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  refusals: Refusal[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  constructor(options: RaftOptions) {
    this.config = validateConfig(options);
    this.id = this.config.id;
    this.log = new RaftLog(this.config.logStore);
    const { hardState, confState } = this.config.logStore.initialState();
    this.membership = Membership.fromConfState(confState);
    if (hardState.term !== 0 || hardState.commit !== 0) this.loadHardState(hardState);
    // What the application applied was committed: a crash can leave the snapshot file it restored
    // from (synced first) ahead of the last synced hard state's commit index.
    if (this.config.applied > this.log.committed && this.config.applied <= this.log.lastIndex()) {
      this.log.committed = this.config.applied;
    }
    if (this.config.applied > this.log.applied) this.replayAppliedMembership(this.config.applied);
    this.becomeFollower(this.term, NONE);
  }

  private loadHardState(hardState: HardState): void {
    assert(
      hardState.commit <= this.log.lastIndex(),
      `hard state commit ${hardState.commit} beyond last index ${this.log.lastIndex()}`,
    );
    // A commit index below the snapshot is merely stale (a crash after a snapshot was installed
    // but before the hard state that followed it was synced): the snapshot proves it committed.
    this.log.committed = Math.max(hardState.commit, this.log.committed);
    this.term = hardState.term;
    this.vote = hardState.vote;
  }

  /**
   * On restart with `applied` beyond the snapshot, membership changes in (snapshot, applied] were
   * applied before the crash and are not in the snapshot's ConfState: apply them again here.
   */
  private replayAppliedMembership(applied: number): void {
    assert(applied <= this.log.committed, `applied ${applied} beyond committed ${this.log.committed}`);
    for (const entry of this.log.slice(this.log.applied + 1, applied + 1, Number.MAX_SAFE_INTEGER)) {
      if (entry.type !== EntryType.ConfChange) continue;
      const change = decodeConfChange(entry.data);
      if (this.membership.refusal(change) === null) this.membership = this.membership.apply(change);
    }
    this.log.appliedTo(applied);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  bugPlanted(bug: PlantedBug): boolean {
    return this.config.plantedBug === bug;
  }

  /**
   * A voter may campaign; learners and removed nodes may not, nor a node still installing a
   * snapshot (its log and membership are not settled until the snapshot is applied).
   */
  promotable(): boolean {
    return this.membership.voters.has(this.id) && this.log.pendingSnapshot() === null;
  }

  send(fields: Partial<Message> & Pick<Message, 'type' | 'to'>): void {
    const isVoteMessage =
      fields.type === MessageType.Vote ||
      fields.type === MessageType.PreVote ||
      fields.type === MessageType.VoteResponse ||
      fields.type === MessageType.PreVoteResponse;
    // Vote messages set their term explicitly (a pre-vote names the term it would campaign in).
    const term = isVoteMessage ? (fields.term ?? this.term) : this.term;
    const m = message({
      type: fields.type,
      group: this.config.group,
      from: this.id,
      to: fields.to,
      term,
      logTerm: fields.logTerm,
      index: fields.index,
      entries: fields.entries,
      commit: fields.commit,
      reject: fields.reject,
      rejectHint: fields.rejectHint,
      snapshot: fields.snapshot,
      context: fields.context,
    });
    if (needsPersistence(m.type) && !this.bugPlanted('ack-before-persist')) this.messagesAfterPersist.push(m);
    else this.messages.push(m);
  }

  refuse(kind: Refusal['kind'], context: Uint8Array, reason: RefusalReason): void {
    this.refusals.push({ kind, context, reason });
  }

  /** Tells `to` that its forwarded proposal or read was not accepted here, and why. */
  rejectForward(m: Message, reason: RefusalReason): void {
    if (m.from === this.id) {
      if (m.type === MessageType.ReadIndex) this.refuse('read', m.context, reason);
      else for (const entry of m.entries) this.refuse('proposal', entry.data, reason);
      return;
    }
    this.send({
      type: MessageType.ForwardReject,
      to: m.from,
      entries: m.entries,
      context: m.type === MessageType.ReadIndex ? m.context : new Uint8Array(0),
      // The reason travels as its position in REFUSAL_REASONS.
      index: REFUSAL_REASONS.indexOf(reason),
    });
  }

  // ---- role transitions -------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout =
      this.config.electionTicks + this.config.rng.nextInt(this.config.electionTicks);
    this.votes.clear();
    this.leader?.refuseWaitingReads();
    this.leader = null;
    // Reads waiting for a leadership confirmation can no longer get one: refuse them explicitly.
    for (const read of this.readOnly.drain()) this.rejectForward(read.request, 'no-leader');
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  becomePreCandidate(): void {
    assert(this.role !== Role.Leader, 'leader cannot become pre-candidate');
    // Thesis §9.6: a pre-candidate does not change its term or vote, so a failed pre-election
    // disturbs nobody.
    this.votes.clear();
    this.lead = NONE;
    this.role = Role.PreCandidate;
  }

  becomeCandidate(): void {
    assert(this.role !== Role.Leader, 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  becomeLeader(): void {
    assert(this.role === Role.Candidate, 'only a candidate can become leader');
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    this.leader = new Leader(this);
    this.leader.start();
  }

  // ---- elections -------------------------------------------------------------------------

  /** Starts an election (or pre-election), unless this node may not or should not. */
  hup(transfer: boolean): void {
    if (this.role === Role.Leader || !this.promotable()) return;
    if (this.hasUnappliedConfChange()) return; // the membership it would campaign in is not final yet
    if (this.config.preVote && !transfer) this.campaign('pre-election', false);
    else this.campaign('election', transfer);
  }

  private hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const from = Math.max(this.log.applied + 1, this.log.firstIndex());
    const entries = this.log.slice(from, this.log.committed + 1, Number.MAX_SAFE_INTEGER);
    return entries.some((entry) => entry.type === EntryType.ConfChange);
  }

  private campaign(kind: 'pre-election' | 'election', transfer: boolean): void {
    let term: number;
    let voteType: MessageType;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1; // the term it would campaign in; its own term does not change yet
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    if (this.recordVote(this.id, true)) return;
    for (const voter of this.membership.voters) {
      if (voter === this.id) continue;
      this.send({
        type: voteType,
        to: voter,
        term,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        context: transfer ? TRANSFER_CONTEXT : new Uint8Array(0),
      });
    }
  }

  /** Records a vote; returns true if the election was decided and acted on. */
  private recordVote(from: NodeId, granted: boolean): boolean {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    const outcome = voteOutcome(this.membership, this.votes);
    if (outcome === 'won') {
      if (this.role === Role.PreCandidate) this.campaign('election', false);
      else this.becomeLeader();
      return true;
    }
    if (outcome === 'lost') {
      this.becomeFollower(this.term, NONE);
      return true;
    }
    return false;
  }

  private handleVoteRequest(m: Message): void {
    const preVote = m.type === MessageType.PreVote;
    const responseType = preVote ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    // Raft §5.2: one vote per term. A pre-vote for a future term does not bind us.
    const canVote =
      this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (preVote && m.term > this.term);
    // Raft §5.4.1: grant only to a candidate whose log is at least as up-to-date as ours.
    const logOk = this.bugPlanted('vote-without-log-check') || this.log.isUpToDate(m.index, m.logTerm);
    if (canVote && logOk) {
      // A pre-vote grant answers with the candidate's term so it is not ignored as stale.
      this.send({ type: responseType, to: m.from, term: m.term });
      if (!preVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: responseType, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- step --------------------------------------------------------------------------------

  step(m: Message): void {
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return;
    } else if (m.term < this.term && m.term !== 0) {
      this.stepLowerTerm(m);
      return;
    }
    switch (m.type) {
      case MessageType.Hup:
        this.hup(false);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
      default:
        if (this.role === Role.Leader) this.leader!.step(m);
        else if (this.role === Role.Follower) this.stepFollower(m);
        else this.stepCandidate(m);
    }
  }

  /** Returns false if the message must be ignored. */
  private stepHigherTerm(m: Message): boolean {
    const isVoteRequest = m.type === MessageType.Vote || m.type === MessageType.PreVote;
    if (isVoteRequest) {
      const forced = Buffer.from(m.context).equals(Buffer.from(TRANSFER_CONTEXT));
      // Thesis §4.2.3: with CheckQuorum, a node that heard from a leader within the election
      // timeout ignores vote requests, so a removed or partitioned server cannot disrupt.
      const inLease =
        this.config.checkQuorum && this.lead !== NONE && this.electionElapsed < this.config.electionTicks;
      if (!forced && inLease) return false;
    }
    if (m.type === MessageType.PreVote) return true; // never change term on a pre-vote request
    if (m.type === MessageType.PreVoteResponse && !m.reject) return true; // the term is our future one
    const fromLeader =
      m.type === MessageType.Append || m.type === MessageType.Heartbeat || m.type === MessageType.Snapshot;
    this.becomeFollower(m.term, fromLeader ? m.from : NONE);
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if (
      (this.config.checkQuorum || this.config.preVote) &&
      (m.type === MessageType.Heartbeat || m.type === MessageType.Append)
    ) {
      // A stale leader learns of the new term from our answer and steps down (otherwise, with
      // CheckQuorum/PreVote, it could keep a partitioned follower from ever rejoining).
      this.send({ type: MessageType.AppendResponse, to: m.from });
    } else if (m.type === MessageType.PreVote) {
      this.send({ type: MessageType.PreVoteResponse, to: m.from, term: this.term, reject: true });
    } else if (m.type === MessageType.Forward || m.type === MessageType.ReadIndex) {
      this.rejectForward(m, 'no-leader');
    }
    // Everything else from an older term is ignored.
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Propose:
        if (this.lead === NONE) this.rejectForward(m, 'no-leader');
        else this.send({ type: MessageType.Forward, to: this.lead, entries: m.entries });
        return;
      case MessageType.Forward:
        this.rejectForward(m, 'no-leader'); // forwarded to a node that is not (or no longer) leader
        return;
      case MessageType.Append:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snapshot:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        // The target travels in the context, so any member can ask the leader for a transfer.
        if (this.lead !== NONE)
          this.send({ type: MessageType.TransferLeader, to: this.lead, context: m.context });
        return;
      case MessageType.TimeoutNow:
        // Leadership transfer (thesis §3.10): campaign at once, bypassing pre-vote and leases.
        this.hup(true);
        return;
      case MessageType.ReadIndex:
        if (this.lead === NONE || m.from !== this.id) this.rejectForward(m, 'no-leader');
        else this.send({ type: MessageType.ReadIndex, to: this.lead, context: m.context });
        return;
      case MessageType.ReadIndexResponse:
        this.readStates.push({ index: m.index, context: m.context });
        return;
      case MessageType.ForwardReject:
        this.handleForwardReject(m);
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    const myResponse =
      this.role === Role.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    switch (m.type) {
      case MessageType.Propose:
      case MessageType.Forward:
      case MessageType.ReadIndex:
        this.rejectForward(m, 'no-leader');
        return;
      case MessageType.Append:
      case MessageType.Heartbeat:
      case MessageType.Snapshot:
        // A leader exists in our term (§5.2): step down and handle its message.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case MessageType.ForwardReject:
        this.handleForwardReject(m);
        return;
      default:
        if (m.type === myResponse) this.recordVote(m.from, !m.reject);
    }
  }

  handleForwardReject(m: Message): void {
    const reason = REFUSAL_REASONS[m.index] ?? 'no-leader';
    if (m.entries.length === 0) this.refuse('read', m.context, reason);
    for (const entry of m.entries) this.refuse('proposal', entry.data, reason);
  }

  // ---- follower handlers (AppendEntries / InstallSnapshot receivers) ------------------------

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: MessageType.AppendResponse, to: m.from, index: this.log.committed });
      return;
    }
    const lastNewIndex = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNewIndex !== null) {
      if (!isCommitOnly(m)) this.send({ type: MessageType.AppendResponse, to: m.from, index: lastNewIndex });
      return;
    }
    // Fast backtracking: hint the largest index whose term is ≤ the leader's term at m.index,
    // so the leader can skip a whole term of conflicting entries per round trip.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({
      type: MessageType.AppendResponse,
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: MessageType.HeartbeatResponse, to: m.from, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    const snapshot = m.snapshot;
    assert(snapshot !== null, 'snapshot message without a snapshot');
    if (this.restore(snapshot)) {
      this.send({ type: MessageType.AppendResponse, to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: MessageType.AppendResponse, to: m.from, index: this.log.committed });
    }
  }

  /** Installs a snapshot unless our log already covers it. Returns true if installed. */
  restore(snapshot: Snapshot): boolean {
    const { index, term } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // We have the snapshot's last entry: just fast-forward the commit index.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.membership = Membership.fromConfState(snapshot.metadata.confState);
    return true;
  }

  // ---- time ------------------------------------------------------------------------------------

  tick(): void {
    if (this.role === Role.Leader) {
      this.leader!.tick();
      return;
    }
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.Hup, from: this.id }));
    }
  }

  // ---- proposals, reads and membership -----------------------------------------------------------

  /** Local proposal. Refusals on this node are thrown by RawNode; forwarded ones come back as refusals. */
  proposeEntries(entries: Entry[]): void {
    this.step(message({ type: MessageType.Propose, from: this.id, entries }));
  }

  /** Applies a committed membership change (called when the entry is applied). */
  applyMembership(next: Membership): void {
    this.membership = next;
    if (this.role === Role.Leader) this.leader!.onMembershipChange();
  }
}
