// Peer messaging between Flotilla nodes: TCP frames, a hello handshake, two lanes per peer,
// chunked snapshot streaming. See transport.ts for the overview.

export { reconnectDelayMs } from './backoff.js';
export {
  decodeMessage,
  encodeMessage,
  isNetworkMessageType,
  MessageCodec,
  type SnapshotBegin,
} from './codec.js';
export {
  HANDSHAKE_TIMEOUT_MS_DEFAULT,
  INBOUND_CONNECTIONS_MAX_DEFAULT,
  type LogLevel,
  type PeerTransportOptions,
  QUEUE_MESSAGES_MAX_DEFAULT,
  RECONNECT_BASE_MS_DEFAULT,
  RECONNECT_MAX_MS_DEFAULT,
  SNAPSHOT_BYTES_MAX_DEFAULT,
  SNAPSHOT_CHUNK_BYTES_DEFAULT,
  type TransportCounters,
  type TransportLog,
  WRITE_BUFFER_BYTES_MAX_DEFAULT,
} from './config.js';
export { FrameError } from './errors.js';
export {
  encodeFrame,
  FRAME_HEADER_BYTES,
  type Frame,
  FrameDecoder,
  FrameType,
  MAX_FRAME_BYTES_DEFAULT,
} from './frame.js';
export { type Hello, PROTOCOL_VERSION } from './handshake.js';
export { type LaneKind, type LaneState, type LaneStats, laneFor } from './lane.js';
export {
  iteratorSnapshotSource,
  memorySnapshotSink,
  type SnapshotSink,
  type SnapshotSinkFactory,
  type SnapshotSource,
} from './snapshot-stream.js';
export { type PeerStats, PeerTransport, type TransportStats } from './transport.js';
