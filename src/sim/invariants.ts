// Raft's safety properties (paper Figure 3), checked incrementally after every simulated step.
// Each check records what the whole cluster has ever shown it, so a violation is caught at the
// step that causes it, with the node and index named.

import type { Entry, NodeId } from '../raft/types.js';
import type { SimNode } from './node.js';

export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

function fingerprint(entry: Entry): string {
  return `${entry.type}:${Buffer.from(entry.data).toString('base64')}`;
}

/** Where a node's log ends, as an election would compare it (Raft §5.4.1). */
interface LogEnd {
  readonly index: number;
  readonly term: number;
}

function logEnd(node: SimNode): LogEnd {
  if (node.raw !== null) return { index: node.raw.raft.log.lastIndex(), term: node.raw.raft.log.lastTerm() };
  const index = node.disk.lastIndex();
  return { index, term: node.disk.term(index) };
}

function atLeastAsUpToDate(candidate: LogEnd, voter: LogEnd): boolean {
  return candidate.term > voter.term || (candidate.term === voter.term && candidate.index >= voter.index);
}

export class Invariants {
  /**
   * @param nodes every node of the run, and whether it may still take part (removed nodes never vote again)
   */
  constructor(private readonly nodes: () => Iterable<{ node: SimNode; retired: boolean }>) {}

  /** Election Safety: at most one leader per term. */
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Log Matching: (index, term) identifies one entry and the term of its predecessor. */
  private readonly entryAt = new Map<string, { fingerprint: string; previousTerm: number | null }>();
  /** State Machine Safety: the entry applied at each index, by anyone. */
  private readonly appliedAt = new Map<number, { term: number; fingerprint: string }>();
  /** The entry term at each index any node has declared committed, and the term it was committed in. */
  private readonly committedAt = new Map<number, { entryTerm: number; commitTerm: number }>();
  private maxCommittedIndex = 0;
  /** Per node: the commit index already recorded (reset on crash: recording again is harmless). */
  private readonly commitSeen = new Map<NodeId, number>();
  /** Leader Append-Only: the end of each current leader's log when last seen. */
  private readonly leaderLogEnd = new Map<NodeId, { term: number; index: number; entryTerm: number }>();

  becameLeader(node: SimNode): void {
    const raft = node.raw!.raft;
    const existing = this.leaderOfTerm.get(raft.term);
    if (existing !== undefined && existing !== node.id) {
      throw new SafetyViolation(
        'Election Safety',
        `term ${raft.term} has two leaders: ${existing} and ${node.id}`,
      );
    }
    this.leaderOfTerm.set(raft.term, node.id);
    this.checkLeaderCompleteness(node);
  }

  /**
   * Leader Completeness (Raft §5.4.3): an entry committed in term T is in the log of every leader
   * of a term after T. (A leader of an older term may still appear late, e.g. a paused candidate
   * collecting stale votes; it cannot commit anything, and the property does not cover it.)
   */
  private checkLeaderCompleteness(node: SimNode): void {
    const raft = node.raw!.raft;
    const log = raft.log;
    for (const [index, committed] of this.committedAt) {
      if (committed.commitTerm >= raft.term || index < log.firstIndex() - 1) continue;
      const term = log.termOrNull(index);
      if (term !== committed.entryTerm) {
        throw new SafetyViolation(
          'Leader Completeness',
          `node ${node.id} became leader in term ${raft.term} with ${term === null ? 'no entry' : `term ${term}`} at index ${index}, where term ${committed.entryTerm} was committed in term ${committed.commitTerm}`,
        );
      }
    }
  }

  /** Records what a node's commit index declares committed; two terms at one index is a violation. */
  private recordCommitted(node: SimNode): void {
    const log = node.raw!.raft.log;
    const seen = this.commitSeen.get(node.id) ?? 0;
    // A leader counts its own copy before its fsync (thesis §10.2.1); its commit index becomes a
    // fact only once its copy is durable too, and raft exposes nothing beyond that point earlier.
    const committed = Math.min(log.committed, log.unstable.offset - 1);
    if (committed <= seen) return;
    for (let index = Math.max(seen + 1, log.firstIndex()); index <= committed; index++) {
      const term = log.termOrNull(index);
      if (term === null) continue;
      const recorded = this.committedAt.get(index);
      if (recorded === undefined)
        this.committedAt.set(index, { entryTerm: term, commitTerm: node.raw!.raft.term });
      else if (recorded.entryTerm !== term) {
        throw new SafetyViolation(
          'State Machine Safety',
          `node ${node.id} declares term ${term} committed at index ${index}, another node declared term ${recorded.entryTerm}`,
        );
      }
    }
    this.maxCommittedIndex = Math.max(this.maxCommittedIndex, committed);
    this.commitSeen.set(node.id, committed);
    this.checkNoElectableNodeLacksCommitted();
  }

  /**
   * Leader Completeness, checked before it is too late: no running voter that lacks the latest
   * committed entry could collect votes from a majority of its configuration (§5.4.3's argument:
   * every holder of a committed entry refuses a candidate without it). This catches an unsafe
   * commitment at the step that makes it, rather than only after an unlucky election.
   */
  private checkNoElectableNodeLacksCommitted(): void {
    const index = this.maxCommittedIndex;
    const term = this.committedAt.get(index)?.entryTerm;
    if (term === undefined) return;
    const all = [...this.nodes()];
    for (const { node: candidate, retired } of all) {
      const raft = candidate.raw?.raft;
      if (raft === undefined || retired || !raft.membership.voters.has(candidate.id)) continue;
      if (index < raft.log.firstIndex() - 1) continue; // compacted into its snapshot: it has the entry
      if (raft.log.termOrNull(index) === term) continue;
      const end = logEnd(candidate);
      let grants = 0;
      for (const { node: voter, retired: voterRetired } of all) {
        if (voterRetired || !raft.membership.voters.has(voter.id)) continue;
        if (atLeastAsUpToDate(end, logEnd(voter))) grants++;
      }
      if (grants >= raft.membership.quorumSize()) {
        throw new SafetyViolation(
          'Leader Completeness',
          `node ${candidate.id} lacks committed entry ${index}/${term} yet ${grants} of ${raft.membership.voters.size} voters would elect it`,
        );
      }
    }
  }

  /** Log Matching, checked as entries become durable on any node. */
  persisted(node: SimNode, entries: readonly Entry[]): void {
    for (const entry of entries) {
      const previousTerm = entry.index <= 1 ? 0 : safeTerm(node, entry.index - 1);
      const key = `${entry.index}:${entry.term}`;
      const seen = this.entryAt.get(key);
      const print = fingerprint(entry);
      if (seen === undefined) {
        this.entryAt.set(key, { fingerprint: print, previousTerm });
        continue;
      }
      if (seen.fingerprint !== print) {
        throw new SafetyViolation(
          'Log Matching',
          `two different entries at index ${entry.index} term ${entry.term} (node ${node.id})`,
        );
      }
      if (seen.previousTerm !== null && previousTerm !== null && seen.previousTerm !== previousTerm) {
        throw new SafetyViolation(
          'Log Matching',
          `entry ${entry.index}/${entry.term} follows term ${previousTerm} on node ${node.id} but term ${seen.previousTerm} elsewhere`,
        );
      }
    }
  }

  /** State Machine Safety: no two nodes apply different entries at one index. */
  applied(node: SimNode, entry: Entry): void {
    const seen = this.appliedAt.get(entry.index);
    const print = fingerprint(entry);
    if (seen === undefined) {
      this.appliedAt.set(entry.index, { term: entry.term, fingerprint: print });
      return;
    }
    if (seen.term !== entry.term || seen.fingerprint !== print) {
      throw new SafetyViolation(
        'State Machine Safety',
        `node ${node.id} applied term ${entry.term} at index ${entry.index}, another node applied term ${seen.term}`,
      );
    }
  }

  /** Leader Append-Only: while leading in a term, a node never loses or rewrites its log's end. */
  stepped(node: SimNode): void {
    const raft = node.raw?.raft;
    if (raft !== undefined) this.recordCommitted(node);
    if (raft === undefined || !node.isLeader()) {
      this.leaderLogEnd.delete(node.id);
      return;
    }
    const last = raft.log.lastIndex();
    const previous = this.leaderLogEnd.get(node.id);
    if (previous !== undefined && previous.term === raft.term) {
      const termThen = raft.log.termOrNull(previous.index);
      if (last < previous.index || (termThen !== null && termThen !== previous.entryTerm)) {
        throw new SafetyViolation(
          'Leader Append-Only',
          `leader ${node.id} (term ${raft.term}) had index ${previous.index}/${previous.entryTerm}, now last ${last}, term there ${termThen}`,
        );
      }
    }
    this.leaderLogEnd.set(node.id, { term: raft.term, index: last, entryTerm: raft.log.term(last) });
  }

  crashed(node: SimNode): void {
    this.leaderLogEnd.delete(node.id);
    this.commitSeen.delete(node.id);
  }
}

function safeTerm(node: SimNode, index: number): number | null {
  try {
    return node.disk.term(index);
  } catch {
    // Compacted away on this node: the predecessor's term is not known here, so skip that half of the check.
    return null;
  }
}
