// The member table: who is in the cluster, with names and URLs. Changed only by applying
// membership entries (in log order on every member), saved with every snapshot.

import type { NodeId } from '../raft/types.js';

export interface Member {
  readonly id: NodeId;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
  /** Published --listen-metrics-urls (dashboard and /api/status); absent until published. */
  readonly metricsUrls?: readonly string[];
}

/** What a membership entry's context carries (JSON; ids as decimal strings). */
export interface MemberContext {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

export function encodeMemberContext(member: Omit<Member, 'isLearner'>): Uint8Array {
  const context: MemberContext = {
    id: member.id.toString(),
    name: member.name,
    peerUrls: member.peerUrls,
    clientUrls: member.clientUrls,
  };
  return new TextEncoder().encode(JSON.stringify(context));
}

export function decodeMemberContext(bytes: Uint8Array): MemberContext | null {
  if (bytes.byteLength === 0) return null;
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as MemberContext;
  return parsed;
}

export class MemberTable {
  private readonly members = new Map<NodeId, Member>();

  constructor(initial: Iterable<Member> = []) {
    for (const member of initial) this.members.set(member.id, member);
  }

  get(id: NodeId): Member | undefined {
    return this.members.get(id);
  }

  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  upsert(member: Member): void {
    this.members.set(member.id, member);
  }

  remove(id: NodeId): void {
    this.members.delete(id);
  }

  /** Applies a client-URL publication (a member announcing where clients reach it). */
  setClientUrls(
    id: NodeId,
    clientUrls: readonly string[],
    name: string,
    metricsUrls?: readonly string[],
  ): void {
    const member = this.members.get(id);
    if (member === undefined) return;
    this.members.set(id, {
      ...member,
      clientUrls,
      name: name || member.name,
      metricsUrls: metricsUrls ?? [],
    });
  }

  setPeerUrls(id: NodeId, peerUrls: readonly string[]): void {
    const member = this.members.get(id);
    if (member !== undefined) this.members.set(id, { ...member, peerUrls });
  }

  toJSON(): unknown {
    return this.list().map((m) => ({ ...m, id: m.id.toString() }));
  }

  static fromJSON(value: unknown): MemberTable {
    const rows = value as (Omit<Member, 'id'> & { id: string })[];
    return new MemberTable(rows.map((row) => ({ ...row, id: BigInt(row.id) })));
  }
}
