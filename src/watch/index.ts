// Public surface of the watch layer: the hub of one node and its per-gRPC-call streams.

export { fragmentResponse, watchResponseSize } from './fragment.js';
export {
  DEFAULT_CATCH_UP_BATCH_EVENTS,
  DEFAULT_CATCH_UP_BATCHES_PER_SLICE,
  DEFAULT_CATCH_UP_SCAN_RECORDS,
  DEFAULT_MAX_PENDING_EVENTS_PER_WATCHER,
  DEFAULT_MAX_QUEUED_CONTROL_RESPONSES,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MAX_WATCHERS_PER_STREAM,
  DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS,
  type WatchableStore,
  WatchHub,
  type WatchHubOptions,
  type WatchLimits,
} from './hub.js';
export {
  type EventMessage,
  type HeaderFields,
  type KeyValueMessage,
  parseWatchRequest,
  type ResponseHeaderMessage,
  type WatchCreate,
  WatchFilter,
  type WatchRequest,
  WatchRequestError,
  type WatchResponseMessage,
} from './messages.js';
export {
  DUPLICATE_WATCH_ID_REASON,
  EMPTY_WATCHER_RANGE_REASON,
  type WatchResponseSink,
  WatchStream,
  WatchStreamOverloadedError,
} from './stream.js';
