// Leader-only state and rules: replication with per-follower flow control, commitment,
// heartbeats, CheckQuorum, ReadIndex, leadership transfer and the membership-change rule.
// Created fresh on every election, so no leader state can leak into a later term.

import { assert } from './assert.js';
import { entryBytes } from './log-store.js';
import { Progress, ProgressState } from './progress.js';
import type { Raft } from './raft.js';
import { decodeConfChange, quorumMatchIndex } from './tracker.js';
import {
  COMMIT_ONLY_CONTEXT,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NONE,
  type NodeId,
} from './types.js';

export class Leader {
  readonly progress = new Map<NodeId, Progress>();
  /** Node leadership is being handed to (thesis §3.10); proposals are refused meanwhile. */
  transferee: NodeId = NONE;
  /** Index of the last membership change appended; a new one waits until it is applied. */
  pendingConfIndex = 0;
  /** Bytes appended but not yet committed (bounded by maxUncommittedBytes). */
  uncommittedBytes = 0;
  /** Reads that arrived before this leader committed an entry of its own term (§6.4 step 1). */
  private readonly waitingReads: Message[] = [];

  constructor(private readonly raft: Raft) {
    for (const id of raft.membership.all()) this.addProgress(id);
  }

  private addProgress(id: NodeId): void {
    const { maxInflightMessages, maxInflightBytes } = this.raft.config;
    const progress = new Progress(
      this.raft.log.lastIndex() + 1,
      maxInflightMessages,
      maxInflightBytes,
      this.raft.membership.learners.has(id),
    );
    // A new peer is presumed active, so CheckQuorum does not depose us before it answers.
    progress.recentActive = true;
    this.progress.set(id, progress);
  }

  start(): void {
    const self = this.progress.get(this.raft.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.match = this.raft.log.lastIndex();
    }
    // Raft §8: append a no-op so entries from earlier terms get committed through it (§5.4.2).
    const appended = this.appendEntries([
      { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) },
    ]);
    assert(appended, 'the empty no-op entry can always be appended');
    // Conservatively treat the whole log as possibly holding an unapplied membership change.
    // The dissertation's rule (§4.1 errata) is that a leader changes membership only after an
    // entry of its own term is committed: that entry is the no-op, so the index must include it
    // (set before the append, a fresh leader whose log was fully applied accepted a change at once).
    this.pendingConfIndex = this.raft.log.lastIndex();
    this.broadcastAppend();
  }

  // ---- appending and committing ----------------------------------------------------------------

  /** Appends entries in the current term. Returns false (appending nothing) if over the byte bound. */
  appendEntries(entries: readonly Entry[]): boolean {
    const log = this.raft.log;
    let bytes = 0;
    for (const entry of entries) bytes += entry.data.byteLength;
    const limit = this.raft.config.maxUncommittedBytes;
    // An empty entry (the no-op) is always allowed so a fresh leader can make progress.
    if (limit > 0 && bytes > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > limit)
      return false;
    let index = log.lastIndex();
    const stamped = entries.map((entry) => ({ ...entry, term: this.raft.term, index: ++index }));
    log.append(stamped);
    this.uncommittedBytes += bytes;
    this.progress.get(this.raft.id)?.maybeUpdate(log.lastIndex());
    // Only a lone voter commits by its own append. With more voters the leader's match already
    // was the highest (nothing is acknowledged beyond the leader's log), and raising the highest
    // match never moves the quorum-th highest: skip the sort of every match on each proposal.
    if (this.raft.membership.quorumSize() === 1) this.maybeCommit();
    return true;
  }

  /** Raft §5.3/§5.4.2: commit the highest index on a quorum, but only if it is from our term. */
  maybeCommit(): boolean {
    const raft = this.raft;
    const quorumIndex = quorumMatchIndex(raft.membership, (id) => this.progress.get(id)?.match ?? 0);
    if (quorumIndex <= raft.log.committed) return false;
    const before = raft.log.committed;
    let committed: boolean;
    if (raft.bugPlanted('commit-old-term')) {
      raft.log.commitTo(quorumIndex);
      committed = true;
    } else {
      committed = raft.log.maybeCommit(quorumIndex, raft.term);
    }
    if (committed) this.releaseCommittedBytes(before, raft.log.committed);
    return committed;
  }

  private releaseCommittedBytes(from: number, to: number): void {
    for (const entry of this.raft.log.slice(from + 1, to + 1, Number.MAX_SAFE_INTEGER)) {
      this.uncommittedBytes = Math.max(0, this.uncommittedBytes - entry.data.byteLength);
    }
  }

  private committedInCurrentTerm(): boolean {
    return this.raft.log.termOrNull(this.raft.log.committed) === this.raft.term;
  }

  // ---- sending ---------------------------------------------------------------------------------

  broadcastAppend(): void {
    for (const id of this.progress.keys()) if (id !== this.raft.id) this.sendAppend(id, true);
  }

  /**
   * Proposals and commit advances since the last Ready, not yet announced to followers. They are
   * announced together by flushAppends() when the driver collects the Ready: a turn that takes 30
   * proposals and 2 acknowledgements sends each follower one append, not 32 (each of which the
   * follower would persist, acknowledge and the leader would step separately).
   */
  private broadcastPending = false;

  flushAppends(): void {
    if (!this.broadcastPending) return;
    this.broadcastPending = false;
    this.broadcastAppend();
  }

  private broadcastHeartbeat(context: Uint8Array): void {
    for (const [id, progress] of this.progress) {
      if (id === this.raft.id) continue;
      // The follower may not have our commit index's entry yet; never tell it to commit past its match.
      const commit = Math.min(progress.match, this.raft.log.committed);
      this.raft.send({ type: MessageType.Heartbeat, to: id, commit, context });
    }
  }

  /** Sends the next append (or snapshot) to `to` if flow control allows. Returns true if sent. */
  sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.progress.get(to);
    if (progress === undefined || progress.isPaused()) return false;
    const log = this.raft.log;
    const prevIndex = progress.next - 1;
    const prevTerm = log.termOrNull(prevIndex);
    const entries =
      prevTerm === null || progress.next < log.firstIndex()
        ? null
        : log.entriesFrom(progress.next, this.raft.config.maxMessageBytes);
    if (prevTerm === null || entries === null) return this.sendSnapshot(to, progress);
    if (entries.length === 0 && !sendIfEmpty) return false;
    // A follower known to hold the whole log learns only the commit index from an empty append.
    const commitOnly =
      entries.length === 0 &&
      progress.state === ProgressState.Replicate &&
      progress.match === log.lastIndex();
    this.raft.send({
      type: MessageType.Append,
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: log.committed,
      context: commitOnly ? COMMIT_ONLY_CONTEXT : undefined,
    });
    if (entries.length > 0) {
      let bytes = 0;
      for (const entry of entries) bytes += entryBytes(entry);
      progress.sentEntries(entries[entries.length - 1].index, bytes);
    } else if (progress.state === ProgressState.Probe) {
      progress.probeSent = true;
    }
    return true;
  }

  /** The follower is behind our first index: send the latest snapshot (Raft §7). */
  private sendSnapshot(to: NodeId, progress: Progress): boolean {
    if (!progress.recentActive) return false; // do not stream a snapshot to a node that may be down
    const snapshot = this.raft.log.snapshot();
    assert(snapshot.metadata.index > 0, 'follower needs a snapshot but none exists');
    progress.becomeSnapshot(snapshot.metadata.index);
    this.raft.send({ type: MessageType.Snapshot, to, snapshot });
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.raft.send({ type: MessageType.TimeoutNow, to });
  }

  // ---- time ------------------------------------------------------------------------------------

  tick(): void {
    const raft = this.raft;
    raft.heartbeatElapsed++;
    raft.electionElapsed++;
    if (raft.electionElapsed >= raft.config.electionTicks) {
      raft.electionElapsed = 0;
      if (raft.config.checkQuorum && !this.checkQuorum()) return; // stepped down
      // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
      this.transferee = NONE;
    }
    if (raft.heartbeatElapsed >= raft.config.heartbeatTicks) {
      raft.heartbeatElapsed = 0;
      this.broadcastHeartbeat(raft.readOnly.lastContext() ?? new Uint8Array(0));
    }
  }

  /** Thesis §6.2: step down unless a quorum was heard from in the last election timeout. */
  private checkQuorum(): boolean {
    const raft = this.raft;
    let active = 0;
    for (const voter of raft.membership.voters) {
      const progress = this.progress.get(voter);
      if (voter === raft.id || progress?.recentActive) active++;
    }
    for (const [id, progress] of this.progress) if (id !== raft.id) progress.recentActive = false;
    if (active >= raft.membership.quorumSize()) return true;
    raft.becomeFollower(raft.term, NONE);
    return false;
  }

  // ---- step ------------------------------------------------------------------------------------

  step(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.broadcastHeartbeat(this.raft.readOnly.lastContext() ?? new Uint8Array(0));
        return;
      case MessageType.CheckQuorum:
        this.checkQuorum();
        return;
      case MessageType.Propose:
      case MessageType.Forward:
        this.handlePropose(m);
        return;
      case MessageType.ReadIndex:
        this.handleReadIndex(m);
        return;
      case MessageType.TransferLeader:
        this.handleTransfer(m);
        return;
      case MessageType.ForwardReject:
        this.raft.handleForwardReject(m); // forwarded while we were a follower
        return;
      default:
        this.stepFromFollower(m);
    }
  }

  private stepFromFollower(m: Message): void {
    const progress = this.progress.get(m.from);
    if (progress === undefined) return; // not (or no longer) a member
    switch (m.type) {
      case MessageType.AppendResponse:
        progress.recentActive = true;
        if (m.reject) this.handleAppendRejected(m, progress);
        else this.handleAppendAccepted(m, progress);
        return;
      case MessageType.HeartbeatResponse:
        this.handleHeartbeatResponse(m, progress);
        return;
      case MessageType.SnapshotStatus:
        if (progress.state !== ProgressState.Snapshot) return;
        if (m.reject) progress.pendingSnapshot = 0;
        progress.becomeProbe();
        // Wait for the next heartbeat response before probing, so a failing peer is not flooded.
        progress.probeSent = true;
        return;
      case MessageType.Unreachable:
        if (progress.state === ProgressState.Replicate) progress.becomeProbe();
        return;
      default:
        return;
    }
  }

  private handlePropose(m: Message): void {
    const raft = this.raft;
    assert(m.entries.length > 0, 'empty proposal');
    if (!raft.membership.has(raft.id)) return raft.rejectForward(m, 'not-a-member');
    if (this.transferee !== NONE) return raft.rejectForward(m, 'transfer-in-progress');
    for (let i = 0; i < m.entries.length; i++) {
      if (m.entries[i].type !== EntryType.ConfChange) continue;
      // One membership change at a time, each only after the previous one is applied (§4.1).
      const refusal =
        this.pendingConfIndex > raft.log.applied
          ? 'a change is pending'
          : raft.membership.refusal(decodeConfChange(m.entries[i].data));
      if (refusal !== null) return raft.rejectForward(m, 'conf-change-pending');
      this.pendingConfIndex = raft.log.lastIndex() + i + 1;
    }
    if (!this.appendEntries(m.entries)) return raft.rejectForward(m, 'too-many-uncommitted-bytes');
    this.broadcastPending = true;
  }

  private handleAppendRejected(m: Message, progress: Progress): void {
    // Fast backtracking: jump over the follower's conflicting term in one step.
    let nextProbe = m.rejectHint;
    if (m.logTerm > 0) nextProbe = this.raft.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (progress.maybeDecreaseTo(m.index, nextProbe)) {
      if (progress.state === ProgressState.Replicate) progress.becomeProbe();
      this.sendAppend(m.from, true);
    }
  }

  private handleAppendAccepted(m: Message, progress: Progress): void {
    const wasPaused = progress.isPaused();
    if (!progress.maybeUpdate(m.index)) return;
    if (progress.state === ProgressState.Probe) progress.becomeReplicate();
    else if (progress.state === ProgressState.Snapshot && progress.match >= progress.pendingSnapshot) {
      progress.becomeProbe();
      progress.becomeReplicate();
    } else if (progress.state === ProgressState.Replicate) progress.inflights.freeLE(m.index);

    if (this.maybeCommit()) {
      this.releaseWaitingReads();
      this.broadcastPending = true; // tell followers the new commit index
    } else if (wasPaused) {
      this.sendAppend(m.from, true);
    }
    // Keep the pipeline full while flow control allows.
    while (this.sendAppend(m.from, false)) {}
    if (m.from === this.transferee && progress.match === this.raft.log.lastIndex())
      this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: Message, progress: Progress): void {
    const raft = this.raft;
    progress.recentActive = true;
    progress.probeSent = false;
    // If every in-flight append was lost, the pipeline would stall forever: a heartbeat round
    // trip frees one slot so the append below goes out (and a gap is detected by rejection).
    if (progress.state === ProgressState.Replicate && progress.inflights.full())
      progress.inflights.freeFirst();
    if (progress.match < raft.log.lastIndex()) this.sendAppend(m.from, true);
    if (raft.config.readOnly !== 'safe' || m.context.byteLength === 0) return;
    const acks = raft.readOnly.recordAck(m.from, m.context);
    if (acks === null) return;
    let voterAcks = 0;
    for (const id of acks) if (raft.membership.voters.has(id)) voterAcks++;
    if (voterAcks < raft.membership.quorumSize()) return;
    for (const read of raft.readOnly.release(m.context)) this.answerRead(read.request, read.index);
  }

  // ---- reads -----------------------------------------------------------------------------------

  private handleReadIndex(m: Message): void {
    const raft = this.raft;
    if (raft.membership.voters.size === 1 && raft.membership.voters.has(raft.id)) {
      this.answerRead(m, raft.log.committed);
      return;
    }
    // Thesis §6.4 step 1: our commit index is only known to be current once an entry of our
    // term is committed; until then the read waits.
    if (!this.committedInCurrentTerm()) {
      this.waitingReads.push(m);
      return;
    }
    this.startRead(m);
  }

  private startRead(m: Message): void {
    const raft = this.raft;
    if (raft.config.readOnly === 'lease-based' || raft.bugPlanted('read-without-quorum')) {
      // Lease-based: CheckQuorum guarantees no other leader was elected within the lease.
      this.answerRead(m, raft.log.committed);
      return;
    }
    // Thesis §6.4 steps 2–3: confirm leadership with a heartbeat round carrying the context.
    raft.readOnly.add(raft.log.committed, m);
    const acks = raft.readOnly.recordAck(raft.id, m.context);
    assert(acks !== null, 'read just added');
    this.broadcastHeartbeat(m.context);
  }

  private releaseWaitingReads(): void {
    if (!this.committedInCurrentTerm()) return;
    const reads = this.waitingReads.splice(0);
    for (const read of reads) this.startRead(read);
  }

  private answerRead(request: Message, index: number): void {
    const raft = this.raft;
    if (request.from === raft.id || request.from === NONE) {
      raft.readStates.push({ index, context: request.context });
    } else {
      raft.send({ type: MessageType.ReadIndexResponse, to: request.from, index, context: request.context });
    }
  }

  /** Leadership is lost: refuse reads that never got started. */
  refuseWaitingReads(): void {
    for (const read of this.waitingReads.splice(0)) this.raft.rejectForward(read, 'no-leader');
  }

  // ---- leadership transfer and membership ------------------------------------------------------

  private handleTransfer(m: Message): void {
    const raft = this.raft;
    const target = BigInt(new TextDecoder().decode(m.context) || '0');
    const progress = this.progress.get(target);
    if (progress === undefined || progress.isLearner || target === raft.id) return;
    if (this.transferee === target) return; // already in progress
    this.transferee = target;
    // The transfer must finish within an election timeout (tick() abandons it otherwise).
    raft.electionElapsed = 0;
    if (progress.match === raft.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppend(target, true);
  }

  onMembershipChange(): void {
    const raft = this.raft;
    for (const id of raft.membership.all()) {
      if (!this.progress.has(id)) this.addProgress(id);
      this.progress.get(id)!.isLearner = raft.membership.learners.has(id);
    }
    for (const id of [...this.progress.keys()]) if (!raft.membership.has(id)) this.progress.delete(id);
    if (this.transferee !== NONE && !raft.membership.voters.has(this.transferee)) this.transferee = NONE;
    if (!raft.membership.voters.has(raft.id)) {
      // We removed ourselves (or were demoted): stop leading once the change is applied.
      raft.becomeFollower(raft.term, NONE);
      return;
    }
    // The quorum may have shrunk, committing more; either way tell the (new) peers where we are.
    this.maybeCommit();
    this.broadcastAppend();
  }
}
