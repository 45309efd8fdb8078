// Public surface of the lease layer.

export {
  type Clock,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_EXPIRED_LEASE_RETRY_MS,
  DEFAULT_MAX_CHECKPOINTS_PER_BATCH,
  DEFAULT_MAX_REVOKES_PER_SECOND,
  type KeepAliveResult,
  type LeaseLeasesMessage,
  type LeaseTable,
  type LeaseTimeToLiveMessage,
  Lessor,
  LessorNotPrimaryError,
  type LessorOptions,
} from './lessor.js';
