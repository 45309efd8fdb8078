// The vocabulary of the consensus core: entries, messages, hard state, snapshots.
// Everything here is plain data so it can be encoded by the transport and the WAL and
// compared structurally in tests. Ids are bigint (etcd member ids are random uint64);
// terms and indexes are numbers (safe below 2^53, far beyond any log this node will write).

export type NodeId = bigint;
/** A Raft group id. One node may host many groups (sharding, later); group 0 is the default. */
export type GroupId = number;

/** Raft "no node": used for an empty vote and an unknown leader. */
export const NONE: NodeId = 0n;

export enum EntryType {
  /** Application data (may be empty: the leader's no-op on election). */
  Normal = 0,
  /** A membership change, encoded with `encodeConfChange`. */
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** State that must be durable before any message depending on it is sent (Raft Figure 2). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

/** The membership a snapshot (or the log up to some index) describes. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The state machine's serialized state up to `metadata.index`. */
  readonly data: Uint8Array;
}

export enum ConfChangeType {
  AddVoter = 0,
  AddLearner = 1,
  RemoveNode = 2,
}

/**
 * One-server-at-a-time membership change (Ongaro's dissertation §4.1). Promoting a learner is
 * `AddVoter` on a node that is currently a learner.
 */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to raft: the server puts member URLs and names here. */
  readonly context: Uint8Array;
}

export enum MessageType {
  // Local messages: never sent over the network.
  Hup = 0,
  Beat = 1,
  Propose = 2,
  CheckQuorum = 3,
  // Network messages.
  Append = 10,
  AppendResponse = 11,
  Vote = 12,
  VoteResponse = 13,
  PreVote = 14,
  PreVoteResponse = 15,
  Snapshot = 16,
  Heartbeat = 17,
  HeartbeatResponse = 18,
  TransferLeader = 19,
  TimeoutNow = 20,
  ReadIndex = 21,
  ReadIndexResponse = 22,
  /** A follower forwards a client proposal to the leader. */
  Forward = 23,
  /** The leader refuses a forwarded proposal or read (e.g. during a transfer); the sender fails it. */
  ForwardReject = 24,
  // Local reports from the driver.
  Unreachable = 30,
  SnapshotStatus = 31,
}

export interface Message {
  readonly type: MessageType;
  readonly group: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** Append: term of the entry at `index`. Vote: candidate's last log term. Reject hint: term at `rejectHint`. */
  readonly logTerm: number;
  /** Append: index preceding `entries`. Vote: candidate's last log index. Response: the acknowledged index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** On a rejected append: the follower's best guess of where the logs may agree (fast backtracking). */
  readonly rejectHint: number;
  readonly snapshot: Snapshot | null;
  /** ReadIndex request context; heartbeat read-index context; TimeoutNow / forward reason. */
  readonly context: Uint8Array;
}

const EMPTY_BYTES = new Uint8Array(0);

/**
 * Context of an append that only announces a commit index to a follower the leader knows holds
 * its whole log: the follower's answer would tell the leader nothing, so none is sent (members
 * that predate it ignore the context and answer, which is harmless).
 */
export const COMMIT_ONLY_CONTEXT = new TextEncoder().encode('commit');

/** Whether an append carries COMMIT_ONLY_CONTEXT (and no entries). */
export function isCommitOnly(m: Message): boolean {
  return m.entries.length === 0 && Buffer.compare(m.context, COMMIT_ONLY_CONTEXT) === 0;
}

const EMPTY_ENTRIES: readonly Entry[] = [];

/**
 * Builds a message with defaults for every field the caller does not set. Every message gets the
 * same field order (one hidden class): this is on the hot path of every step.
 */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    type: fields.type,
    group: fields.group ?? 0,
    from: fields.from ?? NONE,
    to: fields.to ?? NONE,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? EMPTY_ENTRIES,
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    snapshot: fields.snapshot ?? null,
    context: fields.context ?? EMPTY_BYTES,
  };
}

export enum Role {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

/** Volatile state reported for observation only; never persisted. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/** The answer to a ReadIndex request: once applied ≥ index, a local read is linearizable. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/** Why a proposal or read was refused; every refusal is reported, never silently dropped. */
export interface Refusal {
  readonly kind: 'proposal' | 'read';
  readonly context: Uint8Array;
  readonly reason: RefusalReason;
}

export type RefusalReason =
  | 'no-leader'
  | 'transfer-in-progress'
  | 'conf-change-pending'
  | 'too-many-uncommitted-bytes'
  | 'not-a-member'
  | 'no-quorum-read-lease-without-check-quorum';
