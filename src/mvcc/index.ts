// Public surface of the MVCC state machine.

export { crc32c, crc32cUpdate } from '../storage/crc32c.js';
export * from './errors.js';
export type { ChangesResult } from './history.js';
export { compareBytes, inKeyRange, type KeyRange, keyRange } from './keys.js';
export { MAX_LEASE_TTL_SECONDS } from './leases.js';
export { type ApplyResult, MvccStore, type MvccStoreOptions } from './store.js';
export { isTxnReadOnly } from './txn.js';
export * from './types.js';
export {
  checkDeleteRequest,
  checkIntervals,
  checkPutRequest,
  checkRangeRequest,
  checkTxn,
  DEFAULT_MAX_TXN_OPS,
  type ValidationLimits,
} from './validate.js';
