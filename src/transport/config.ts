// PeerTransport options, their defaults (every limit named, with its unit), and the state the
// transport's parts share: counters and the resolved configuration.

import type tls from 'node:tls';
import type { Message, NodeId } from '../raft/types.js';
import { MessageCodec } from './codec.js';
import { MAX_FRAME_BYTES_DEFAULT } from './frame.js';
import { memorySnapshotSink, type SnapshotSinkFactory } from './snapshot-stream.js';
import type { TlsListenerOptions } from './tls-listener.js';

/** Per lane: messages waiting for a connection or for the socket to drain. */
export const QUEUE_MESSAGES_MAX_DEFAULT = 4096;
export const RECONNECT_BASE_MS_DEFAULT = 50;
export const RECONNECT_MAX_MS_DEFAULT = 5_000;
/** From dialling (or accepting) until the hello exchange is done. */
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 5_000;
/** Snapshot data is sent in frames of at most this many bytes. */
export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 1024 * 1024;
/** The largest snapshot a receiver will reassemble (etcd's default backend quota is 2 GiB). */
export const SNAPSHOT_BYTES_MAX_DEFAULT = 2 * 1024 * 1024 * 1024;
/** Stop handing a socket more frames while this many bytes wait in its user-space buffer. */
export const WRITE_BUFFER_BYTES_MAX_DEFAULT = 2 * 1024 * 1024;
export const INBOUND_CONNECTIONS_MAX_DEFAULT = 1024;
/** TCP keepalive probes start after this much idle time, so a vanished peer is noticed. */
export const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

export type LogLevel = 'info' | 'warn';
export type TransportLog = (level: LogLevel, message: string) => void;

/** Peer TLS (etcd's --peer-* flags). Without it every connection is plain TCP. */
export interface PeerTlsOptions {
  /** Set: the listener speaks TLS (an https:// --listen-peer-urls), with these keys and checks. */
  readonly listen: TlsListenerOptions | null;
  /** For dialling peers whose URL is https://: our certificate and the CA we trust. */
  readonly dial: tls.ConnectionOptions;
}

export interface PeerTransportOptions {
  readonly selfId: NodeId;
  readonly clusterId: bigint;
  /** Listen only here (e.g. 127.0.0.1 in tests, the node's peer address in production). */
  readonly listenHost: string;
  /** 0 picks an ephemeral port; `start()` returns the one chosen. */
  readonly listenPort: number;
  /** Every message addressed to this node, whole (snapshots reassembled), in per-lane order. */
  readonly onMessage: (m: Message) => void;
  /** A connection to this peer failed or closed: raft should stop pipelining to it (ReportUnreachable). */
  readonly onPeerUnreachable?: (id: NodeId) => void;
  /** A snapshot to this peer was handed to the kernel (failed=false) or was lost (failed=true). */
  readonly onSnapshotSent?: (id: NodeId, failed: boolean) => void;
  /** Where a streamed snapshot's bytes go as they arrive; defaults to memory (memorySnapshotSink). */
  readonly receiveSnapshot?: SnapshotSinkFactory;
  readonly queueMessagesMax?: number;
  readonly reconnectBaseMs?: number;
  readonly reconnectMaxMs?: number;
  /** Uniform in [0, 1); jitters reconnect delays. Defaults to Math.random. */
  readonly rng?: () => number;
  readonly maxFrameBytes?: number;
  readonly snapshotChunkBytes?: number;
  readonly snapshotBytesMax?: number;
  readonly handshakeTimeoutMs?: number;
  readonly writeBufferBytesMax?: number;
  readonly inboundConnectionsMax?: number;
  /** Defaults to warnings on stderr. */
  readonly log?: TransportLog;
  /** What to tell a discovery probe (see FrameType.ClusterInfo); without it probes are refused. */
  readonly clusterInfo?: () => ClusterInfo;
  readonly tls?: PeerTlsOptions;
}

export interface ClusterInfo {
  readonly clusterId: bigint;
  readonly members: readonly { readonly id: NodeId; readonly peerUrls: readonly string[] }[];
}

export interface TransportConfig {
  readonly selfId: NodeId;
  readonly clusterId: bigint;
  readonly queueMessagesMax: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly rng: () => number;
  readonly maxFrameBytes: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotBytesMax: number;
  readonly handshakeTimeoutMs: number;
  readonly writeBufferBytesMax: number;
  readonly inboundConnectionsMax: number;
  readonly log: TransportLog;
  readonly tls: PeerTlsOptions;
}

/** Counters kept by the transport's parts; `PeerTransport.stats()` returns a copy. */
export interface TransportCounters {
  /** Frames carrying a message handed to a socket (a chunked snapshot counts once). */
  messagesSent: number;
  /** Messages delivered to onMessage. */
  messagesReceived: number;
  /** Dropped because a lane's queue was full. */
  messagesDropped: number;
  /** Sent to a peer that is not added, or after close(). */
  messagesUnroutable: number;
  /** Encoded larger than maxFrameBytes; raft's max-entries-bytes limit should prevent this. */
  messagesTooLarge: number;
  snapshotsSent: number;
  snapshotsFailed: number;
  snapshotsReceived: number;
  /** Outbound connections that failed to connect, were refused, or closed. */
  connectionsFailed: number;
  /** Inbound hellos or TLS handshakes this node refused (other cluster, member id, protocol, CA). */
  handshakesRefused: number;
  /** Outbound hellos a peer refused. */
  handshakesRefusedByPeer: number;
  /** Handshakes that did not finish within handshakeTimeoutMs. */
  handshakeTimeouts: number;
  /** Connections closed because a frame or payload did not match the wire format. */
  frameErrors: number;
}

export function newCounters(): TransportCounters {
  return {
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
    messagesUnroutable: 0,
    messagesTooLarge: 0,
    snapshotsSent: 0,
    snapshotsFailed: 0,
    snapshotsReceived: 0,
    connectionsFailed: 0,
    handshakesRefused: 0,
    handshakesRefusedByPeer: 0,
    handshakeTimeouts: 0,
    frameErrors: 0,
  };
}

/** What lanes and inbound connections share with their transport. */
export interface TransportContext {
  readonly config: TransportConfig;
  readonly codec: MessageCodec;
  readonly counters: TransportCounters;
  readonly onMessage: (m: Message) => void;
  readonly onPeerUnreachable: (id: NodeId) => void;
  readonly onSnapshotSent: (id: NodeId, failed: boolean) => void;
  readonly receiveSnapshot: SnapshotSinkFactory;
  readonly clusterInfo: (() => ClusterInfo) | null;
}

function defaultLog(level: LogLevel, message: string): void {
  if (level === 'warn') console.warn(message);
}

function noop(): void {}

/** Validates options and fills in defaults; throws RangeError naming the bad option. */
export function resolveConfig(options: PeerTransportOptions): TransportConfig {
  const config: TransportConfig = {
    selfId: options.selfId,
    clusterId: options.clusterId,
    queueMessagesMax: options.queueMessagesMax ?? QUEUE_MESSAGES_MAX_DEFAULT,
    reconnectBaseMs: options.reconnectBaseMs ?? RECONNECT_BASE_MS_DEFAULT,
    reconnectMaxMs: options.reconnectMaxMs ?? RECONNECT_MAX_MS_DEFAULT,
    rng: options.rng ?? Math.random,
    maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES_DEFAULT,
    snapshotChunkBytes: options.snapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES_DEFAULT,
    snapshotBytesMax: options.snapshotBytesMax ?? SNAPSHOT_BYTES_MAX_DEFAULT,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS_DEFAULT,
    writeBufferBytesMax: options.writeBufferBytesMax ?? WRITE_BUFFER_BYTES_MAX_DEFAULT,
    inboundConnectionsMax: options.inboundConnectionsMax ?? INBOUND_CONNECTIONS_MAX_DEFAULT,
    log: options.log ?? defaultLog,
    tls: options.tls ?? { listen: null, dial: {} },
  };
  requireId('selfId', config.selfId);
  requireId('clusterId', config.clusterId);
  if (config.selfId === 0n) throw new RangeError('selfId must not be 0 (raft NONE)');
  requireInteger('listenPort', options.listenPort, 0, 65535);
  requireInteger('queueMessagesMax', config.queueMessagesMax, 1, 1_000_000);
  requireInteger('reconnectBaseMs', config.reconnectBaseMs, 1, 3_600_000);
  requireInteger('reconnectMaxMs', config.reconnectMaxMs, config.reconnectBaseMs, 3_600_000);
  requireInteger('maxFrameBytes', config.maxFrameBytes, 1024, 0xffff_ffff);
  // A chunk frame carries the type byte too.
  requireInteger('snapshotChunkBytes', config.snapshotChunkBytes, 1, config.maxFrameBytes - 1);
  requireInteger('snapshotBytesMax', config.snapshotBytesMax, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('handshakeTimeoutMs', config.handshakeTimeoutMs, 1, 3_600_000);
  requireInteger('writeBufferBytesMax', config.writeBufferBytesMax, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('inboundConnectionsMax', config.inboundConnectionsMax, 1, 1_000_000);
  return config;
}

export function newContext(options: PeerTransportOptions, config: TransportConfig): TransportContext {
  return {
    config,
    codec: new MessageCodec(),
    counters: newCounters(),
    onMessage: options.onMessage,
    onPeerUnreachable: options.onPeerUnreachable ?? noop,
    onSnapshotSent: options.onSnapshotSent ?? noop,
    receiveSnapshot: options.receiveSnapshot ?? memorySnapshotSink,
    clusterInfo: options.clusterInfo ?? null,
  };
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function requireId(name: string, value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`${name} must be a uint64 bigint, got ${String(value)}`);
  }
}
