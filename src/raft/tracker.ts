// Membership and quorum arithmetic: who votes, who only listens, and what a majority decides.
//
// Flotilla changes membership one server at a time (Ongaro's dissertation §4.1), not with joint
// consensus. Why: any majority of the old voter set and any majority of a set that differs by
// one server intersect, so no two leaders can be elected in one term without an intermediate
// joint configuration, and the protocol stays small enough to simulate exhaustively. The
// dissertation's safety rule (§4.1, the 2015 errata) is enforced in raft.ts: a leader accepts
// a membership change only after an entry of its own term is committed and applied, and only
// one change may be pending at a time.

import { assert } from './assert.js';
import { type ConfChange, ConfChangeType, type ConfState, type NodeId } from './types.js';

export class Membership {
  readonly voters: ReadonlySet<NodeId>;
  readonly learners: ReadonlySet<NodeId>;

  constructor(voters: Iterable<NodeId>, learners: Iterable<NodeId>) {
    this.voters = new Set(voters);
    this.learners = new Set(learners);
    for (const learner of this.learners)
      assert(!this.voters.has(learner), `node ${learner} is both voter and learner`);
  }

  static fromConfState(confState: ConfState): Membership {
    return new Membership(confState.voters, confState.learners);
  }

  toConfState(): ConfState {
    const byId = (a: NodeId, b: NodeId) => (a < b ? -1 : a > b ? 1 : 0);
    return { voters: [...this.voters].sort(byId), learners: [...this.learners].sort(byId) };
  }

  has(id: NodeId): boolean {
    return this.voters.has(id) || this.learners.has(id);
  }

  all(): NodeId[] {
    return [...this.voters, ...this.learners];
  }

  quorumSize(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** Why `change` cannot be applied to this membership, or null if it can. */
  refusal(change: ConfChange): string | null {
    switch (change.type) {
      case ConfChangeType.AddVoter:
        return this.voters.has(change.nodeId) ? `node ${change.nodeId} is already a voter` : null;
      case ConfChangeType.AddLearner:
        if (this.voters.has(change.nodeId))
          return `node ${change.nodeId} is a voter; demoting is not supported`;
        return this.learners.has(change.nodeId) ? `node ${change.nodeId} is already a learner` : null;
      case ConfChangeType.RemoveNode:
        if (!this.has(change.nodeId)) return `node ${change.nodeId} is not a member`;
        if (this.voters.has(change.nodeId) && this.voters.size === 1) return 'cannot remove the last voter';
        return null;
    }
  }

  apply(change: ConfChange): Membership {
    const voters = new Set(this.voters);
    const learners = new Set(this.learners);
    switch (change.type) {
      case ConfChangeType.AddVoter:
        learners.delete(change.nodeId);
        voters.add(change.nodeId);
        break;
      case ConfChangeType.AddLearner:
        learners.add(change.nodeId);
        break;
      case ConfChangeType.RemoveNode:
        voters.delete(change.nodeId);
        learners.delete(change.nodeId);
        break;
    }
    return new Membership(voters, learners);
  }
}

/**
 * The highest index replicated on a majority of voters: sort voters' match indexes descending
 * and take the quorum-th. (Raft §5.3; whether that entry may be committed is decided by its term.)
 */
export function quorumMatchIndex(membership: Membership, matchOf: (id: NodeId) => number): number {
  const matches: number[] = [];
  for (const voter of membership.voters) matches.push(matchOf(voter));
  assert(matches.length > 0, 'no voters');
  matches.sort((a, b) => b - a);
  return matches[membership.quorumSize() - 1];
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

export function voteOutcome(membership: Membership, votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const voter of membership.voters) {
    const vote = votes.get(voter);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const quorum = membership.quorumSize();
  if (granted >= quorum) return 'won';
  if (membership.voters.size - rejected < quorum) return 'lost';
  return 'pending';
}

/** Encodes a conf change for the log (rare, so clarity over compactness). */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const json = JSON.stringify({
    type: change.type,
    nodeId: change.nodeId.toString(),
    context: Buffer.from(change.context).toString('base64'),
  });
  return new TextEncoder().encode(json);
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const parsed: unknown = JSON.parse(new TextDecoder().decode(data));
  assert(typeof parsed === 'object' && parsed !== null, 'conf change must be an object');
  const { type, nodeId, context } = parsed as Record<string, unknown>;
  assert(
    type === ConfChangeType.AddVoter ||
      type === ConfChangeType.AddLearner ||
      type === ConfChangeType.RemoveNode,
    `bad conf change type ${String(type)}`,
  );
  assert(typeof nodeId === 'string' && /^[0-9]+$/.test(nodeId), 'bad conf change node id');
  assert(typeof context === 'string', 'bad conf change context');
  return { type, nodeId: BigInt(nodeId), context: new Uint8Array(Buffer.from(context, 'base64')) };
}
