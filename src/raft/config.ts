// Every limit the core obeys is a named field here, validated once at construction.

import type { LogStore } from './log-store.js';
import type { Rng } from './rng.js';
import type { GroupId, NodeId } from './types.js';

/** Deliberate protocol bugs the simulator must catch (TESTING.md: a checker that cannot fail proves nothing). */
export const PLANTED_BUGS = {
  'commit-old-term':
    'the leader commits an entry of an earlier term by counting replicas (breaks Raft §5.4.2)',
  'vote-without-log-check':
    'a voter grants its vote without the candidate-log-up-to-date check (breaks §5.4.1)',
  'ack-before-persist':
    'vote grants and append acknowledgements are released before the hard state and entries are fsynced',
  'read-without-quorum': 'the leader answers ReadIndex without confirming it is still leader',
} as const;

export type PlantedBug = keyof typeof PLANTED_BUGS;

export type ReadOnlyOption = 'safe' | 'lease-based';

export interface RaftConfig {
  readonly id: NodeId;
  readonly group: GroupId;
  readonly logStore: LogStore;
  readonly rng: Rng;
  /** Index of the last entry the state machine has applied (on restart). */
  readonly applied: number;
  /** A follower that hears nothing from a leader for a random time in [e, 2e) ticks campaigns. */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Raft thesis §9.6: ask for pre-votes first so a partitioned node cannot disrupt the cluster. */
  readonly preVote: boolean;
  /** Thesis §6.2: a leader that has not heard from a quorum in an election timeout steps down. */
  readonly checkQuorum: boolean;
  /** 'lease-based' reads skip the heartbeat round; only allowed with checkQuorum on (§6.4.1). */
  readonly readOnly: ReadOnlyOption;
  /** Upper bound on entry bytes in one append message. */
  readonly maxMessageBytes: number;
  /** Append messages in flight to one follower before it must acknowledge. */
  readonly maxInflightMessages: number;
  /** Entry bytes in flight to one follower before it must acknowledge (0 = unlimited). */
  readonly maxInflightBytes: number;
  /** Proposals are refused once this many bytes are appended but not committed (0 = unlimited). */
  readonly maxUncommittedBytes: number;
  /** Entry bytes handed to the application in one Ready. */
  readonly maxCommittedBytesPerReady: number;
  readonly plantedBug: PlantedBug | null;
}

export type RaftOptions = Pick<RaftConfig, 'id' | 'logStore' | 'rng'> & Partial<RaftConfig>;

export const DEFAULT_RAFT_CONFIG = {
  group: 0,
  applied: 0,
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  readOnly: 'safe',
  maxMessageBytes: 1024 * 1024,
  maxInflightMessages: 256,
  maxInflightBytes: 0,
  maxUncommittedBytes: 64 * 1024 * 1024,
  maxCommittedBytesPerReady: 16 * 1024 * 1024,
  plantedBug: null,
} as const satisfies Partial<RaftConfig>;

export class RaftConfigError extends Error {
  constructor(message: string) {
    super(`raft config: ${message}`);
    this.name = 'RaftConfigError';
  }
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0)
    throw new RaftConfigError(`${name} must be a positive integer, got ${value}`);
}

function requireNonNegativeInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RaftConfigError(`${name} must be a non-negative integer, got ${value}`);
  }
}

function requireBoolean(name: string, value: unknown): void {
  if (typeof value !== 'boolean')
    throw new RaftConfigError(`${name} must be a boolean, got ${String(value)}`);
}

export function validateConfig(options: RaftOptions): RaftConfig {
  const config: RaftConfig = { ...DEFAULT_RAFT_CONFIG, ...options };
  if (config.id === 0n) throw new RaftConfigError('id must not be 0 (reserved for "none")');
  requireNonNegativeInteger('group', config.group);
  requireNonNegativeInteger('applied', config.applied);
  requirePositiveInteger('heartbeatTicks', config.heartbeatTicks);
  requirePositiveInteger('electionTicks', config.electionTicks);
  if (config.electionTicks <= config.heartbeatTicks) {
    throw new RaftConfigError(
      `electionTicks (${config.electionTicks}) must be greater than heartbeatTicks (${config.heartbeatTicks})`,
    );
  }
  requirePositiveInteger('maxMessageBytes', config.maxMessageBytes);
  requirePositiveInteger('maxInflightMessages', config.maxInflightMessages);
  requireNonNegativeInteger('maxInflightBytes', config.maxInflightBytes);
  requireNonNegativeInteger('maxUncommittedBytes', config.maxUncommittedBytes);
  requirePositiveInteger('maxCommittedBytesPerReady', config.maxCommittedBytesPerReady);
  // Fields typed at compile time can still arrive malformed from flags or files: a bad readOnly
  // would otherwise leave every read unanswered, so check them here with the rest.
  requireBoolean('preVote', config.preVote);
  requireBoolean('checkQuorum', config.checkQuorum);
  if (config.readOnly !== 'safe' && config.readOnly !== 'lease-based') {
    throw new RaftConfigError(`readOnly must be 'safe' or 'lease-based', got ${String(config.readOnly)}`);
  }
  if (config.readOnly === 'lease-based' && !config.checkQuorum) {
    throw new RaftConfigError(
      "readOnly 'lease-based' requires checkQuorum: a lease is only safe if a leader steps down",
    );
  }
  // Own keys only: `in` would also accept inherited names such as "toString".
  if (config.plantedBug !== null && !Object.hasOwn(PLANTED_BUGS, config.plantedBug)) {
    throw new RaftConfigError(`plantedBug: unknown planted bug ${String(config.plantedBug)}`);
  }
  return config;
}
