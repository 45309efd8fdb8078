// Public surface of the consensus core. Nothing in src/raft performs I/O, reads a clock or
// draws from an unseeded random source; test/raft/purity.test.ts keeps it that way.

export { InvariantError } from './assert.js';
export {
  DEFAULT_RAFT_CONFIG,
  PLANTED_BUGS,
  type PlantedBug,
  type RaftConfig,
  RaftConfigError,
  type RaftOptions,
} from './config.js';
export { emptySnapshot, LogCompactedError, type LogStore, MemoryLogStore } from './log-store.js';
export { ProposalRefusedError, RawNode, type Ready, type Status } from './raw-node.js';
export { type Rng, SeededRng } from './rng.js';
export { decodeConfChange, encodeConfChange, Membership } from './tracker.js';
export * from './types.js';
