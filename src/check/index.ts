// The checker's public surface: histories, models, and the linearizability check.

export { CheckerInvariantError } from './assert.js';
export { HistoryError, HistoryRecorder, isIndefinite, type Operation, validateHistory } from './history.js';
export {
  type CheckOptions,
  type CheckResult,
  checkLinearizability,
  DEFAULT_MAX_SEARCH_STEPS_PER_PARTITION,
  type Violation,
} from './linearizability.js';
export {
  type KvInput,
  kvModel,
  type Model,
  type Partition,
  type RegisterInput,
  type RegisterOutput,
  type RegisterState,
  type RegisterValue,
  registerModel,
  WRITE_OK,
} from './models.js';
