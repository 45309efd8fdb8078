// One outbound lane to one peer: a lazily dialled TCP connection, a bounded queue in front of
// it, reconnects with backoff, per-turn write batching, and chunked snapshot streaming.
//
// Each peer has two lanes (see `laneFor`). A lane is a separate TCP connection, so a heartbeat
// or a vote never waits behind megabytes of appends or snapshot in a user-space queue, a socket
// buffer, or TCP's own in-order delivery.

import { createConnection, type Socket } from 'node:net';
import tls from 'node:tls';
import { assert } from '../raft/assert.js';
import { type Message, MessageType, type NodeId } from '../raft/types.js';
import { reconnectDelayMs } from './backoff.js';
import { KEEPALIVE_INITIAL_DELAY_MS, type TransportContext } from './config.js';
import { FrameError } from './errors.js';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameType, writeFrameHeader } from './frame.js';
import { decodeRefuseReason, encodeHelloFrame, hex, PROTOCOL_VERSION } from './handshake.js';
import { BoundedQueue } from './queue.js';
import type { SnapshotSource } from './snapshot-stream.js';

export type LaneKind = 'priority' | 'bulk';

/**
 * Appends, snapshots and forwarded proposals carry payloads of up to megabytes: bulk lane.
 * Everything else is small and latency-critical for liveness (heartbeats and their responses,
 * votes, TimeoutNow, ReadIndex, append acknowledgements, whose delay is commit latency): priority.
 */
export function laneFor(type: MessageType): LaneKind {
  return type === MessageType.Append || type === MessageType.Snapshot || type === MessageType.Forward
    ? 'bulk'
    : 'priority';
}

/** idle: no connection, none wanted yet. connecting: dialling or waiting for HelloAccept. */
export type LaneState = 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed';

export interface LaneStats {
  readonly state: LaneState;
  readonly queuedMessages: number;
  readonly messagesDropped: number;
  readonly messagesSent: number;
  /** Consecutive failed connection attempts (reset by an accepted hello). */
  readonly failedAttempts: number;
}

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
  /** Dial with TLS (the peer's URL is https://). */
  readonly secure: boolean;
}

/** A snapshot being written in chunks, and then awaiting the write callback of its last chunk. */
interface SnapshotStream {
  readonly message: Message;
  readonly data: Uint8Array;
  offsetBytes: number;
  /** Streamed: where the bytes after the inline data come from; null once closed or if not streamed. */
  source: SnapshotSource | null;
  reported: boolean;
}

export class OutboundLane {
  private state: LaneState = 'idle';
  private socket: Socket | null = null;
  private decoder: FrameDecoder | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly queue: BoundedQueue<Message>;
  private failedAttempts = 0;
  /** The current connection finished its TLS handshake (secure lanes only). */
  private tlsEstablished = false;
  private flushScheduled = false;
  /** The snapshot whose chunks are being written; null between snapshots. */
  private streaming: SnapshotStream | null = null;
  /** Snapshots fully written whose last write has not completed yet. */
  private readonly unconfirmed = new Set<SnapshotStream>();
  /** Sources of queued streamed snapshots, by message (the queue holds plain messages). */
  private readonly sources = new Map<Message, SnapshotSource>();
  private messagesDropped = 0;
  private messagesSent = 0;
  // Bound once: flush runs every turn that has messages, and must not allocate a closure each time.
  private readonly flushBound = (): void => this.flush();
  private readonly flushNextTurnBound = (): void => {
    setImmediate(this.flushBound);
  };
  private readonly scheduleFlushBound = (): void => this.scheduleFlush();
  private readonly reconnectBound = (): void => this.onBackoffElapsed();

  constructor(
    private readonly context: TransportContext,
    readonly peerId: NodeId,
    readonly kind: LaneKind,
    private address: PeerAddress,
  ) {
    this.queue = new BoundedQueue<Message>(context.config.queueMessagesMax);
  }

  /** Queues `m` and makes sure it will be written: dials if idle, flushes this turn if connected. */
  enqueue(m: Message): void {
    assert(this.state !== 'closed', 'enqueue on a closed lane');
    if (this.queue.full && !this.makeRoom(m)) return;
    this.queue.push(m);
    if (this.state === 'idle') this.connect();
    else if (this.state === 'ready') this.scheduleFlush(true);
  }

  /** Queues a Snapshot message whose data continues with what `source` produces (snapshot-stream.ts). */
  enqueueStreamed(m: Message, source: SnapshotSource): void {
    assert(m.type === MessageType.Snapshot && m.snapshot !== null, 'only a snapshot is streamed');
    this.sources.set(m, source);
    this.enqueue(m);
  }

  /** A new address for the peer: drop the current connection (if any) and redial lazily. */
  setAddress(address: PeerAddress): void {
    if (
      address.host === this.address.host &&
      address.port === this.address.port &&
      address.secure === this.address.secure
    )
      return;
    this.address = address;
    this.failedAttempts = 0;
    if (this.socket !== null) this.socket.destroy();
    else if (this.state === 'backoff') {
      this.clearTimer();
      this.state = 'idle';
      if (this.queue.length > 0) this.connect();
    }
  }

  /** Closes the connection and forgets queued messages. No callbacks fire after this. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimer();
    while (this.queue.shift() !== undefined) {}
    if (this.streaming !== null) closeStreamSource(this.streaming);
    this.streaming = null;
    this.unconfirmed.clear();
    for (const m of [...this.sources.keys()]) this.closeSource(m);
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
  }

  stats(): LaneStats {
    return {
      state: this.state,
      queuedMessages: this.queue.length,
      messagesDropped: this.messagesDropped,
      messagesSent: this.messagesSent,
      failedAttempts: this.failedAttempts,
    };
  }

  /**
   * Raft tolerates message loss, so a full queue drops rather than blocks. Priority lane: drop
   * the oldest (a newer heartbeat or vote supersedes it). Bulk lane: drop the new message, as
   * etcd does, so the queued appends stay a contiguous run the follower can accept; raft's
   * progress tracking resends the rest. Returns whether `m` should still be queued.
   */
  private makeRoom(m: Message): boolean {
    this.messagesDropped++;
    this.context.counters.messagesDropped++;
    if (this.kind === 'priority') {
      this.queue.shift();
      return true;
    }
    if (m.type === MessageType.Snapshot) {
      this.closeSource(m);
      this.reportSnapshotLater(true);
    }
    return false;
  }

  private connect(): void {
    assert(
      this.socket === null && (this.state === 'idle' || this.state === 'backoff'),
      'connect while connected',
    );
    const { config, codec } = this.context;
    const { host, port, secure } = this.address;
    // A peer that refuses our certificate (or whose certificate we refuse) fails here, before the
    // hello: the 'error' event carries OpenSSL's reason into the log line.
    const socket = secure
      ? tls.connect({ ...config.tls.dial, host, port })
      : createConnection({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    this.socket = socket;
    this.decoder = new FrameDecoder(config.maxFrameBytes);
    this.state = 'connecting';
    this.tlsEstablished = false;
    if (secure) socket.once('secureConnect', () => this.onTlsEstablished(socket));
    // Node queues this until the connection (and TLS handshake) is up; it is always the first frame.
    socket.write(
      encodeHelloFrame(codec, {
        protocolVersion: PROTOCOL_VERSION,
        clusterId: config.clusterId,
        fromId: config.selfId,
        toId: this.peerId,
      }),
    );
    this.timer = setTimeout(() => this.onHandshakeTimeout(socket), config.handshakeTimeoutMs);
    // Closures per connection (not per message): each must know which socket it belongs to,
    // because a replaced socket's late 'close' must not tear down its successor.
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    // Not flush() itself: on loopback a write often completes at once, its 'drain' comes in the
    // same tick, and flushing from there wrote a whole snapshot (seconds) without yielding, so
    // heartbeats waited and followers elected a new leader. One buffer's worth per turn instead.
    socket.on('drain', this.scheduleFlushBound);
    socket.on('error', (error: Error) => this.onSocketError(socket, error));
    socket.on('close', () => this.onClose(socket));
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (socket !== this.socket || this.decoder === null) return;
    try {
      this.decoder.push(chunk);
      for (let frame = this.decoder.next(); frame !== null; frame = this.decoder.next()) {
        if (this.state !== 'connecting')
          throw new FrameError(`unexpected ${FrameType[frame.type]} frame from listener`);
        if (frame.type === FrameType.HelloAccept) {
          this.onAccepted();
        } else if (frame.type === FrameType.HelloRefuse) {
          this.context.counters.handshakesRefusedByPeer++;
          this.log('warn', `refused by peer: ${decodeRefuseReason(frame.payload)}`);
          socket.destroy();
          return;
        } else {
          throw new FrameError(`expected a hello answer, got a ${FrameType[frame.type]} frame`);
        }
      }
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.context.counters.frameErrors++;
      this.log('warn', `closing: ${error.message}`);
      socket.destroy();
    }
  }

  private onAccepted(): void {
    this.clearTimer();
    this.state = 'ready';
    this.failedAttempts = 0;
    this.scheduleFlush();
  }

  private onHandshakeTimeout(socket: Socket): void {
    this.timer = null;
    if (socket !== this.socket) return;
    this.context.counters.handshakeTimeouts++;
    this.log('warn', `no hello answer within ${this.context.config.handshakeTimeoutMs} ms`);
    socket.destroy();
  }

  private onSocketError(socket: Socket, error: Error): void {
    // The 'close' event that always follows does the cleanup; here we only say why.
    if (socket !== this.socket) return;
    const level = this.failedAttempts === 0 ? 'warn' : 'info';
    this.log(level, `connection error: ${error.message}`);
  }

  private onTlsEstablished(socket: Socket): void {
    if (socket === this.socket) this.tlsEstablished = true;
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    if (this.state === 'connecting' && this.tlsEstablished) this.logRefusedAfterTls();
    this.socket = null;
    this.decoder = null;
    this.clearTimer();
    this.context.counters.connectionsFailed++;
    this.failSnapshots();
    this.state = 'backoff';
    const { reconnectBaseMs, reconnectMaxMs, rng } = this.context.config;
    const delayMs = reconnectDelayMs(this.failedAttempts, reconnectBaseMs, reconnectMaxMs, rng);
    this.failedAttempts++;
    this.timer = setTimeout(this.reconnectBound, delayMs);
    this.context.onPeerUnreachable(this.peerId);
  }

  /**
   * With TLS 1.3 the listener checks our certificate after our side of the handshake is done, so
   * a refusal reaches us only as a close before the hello answer. Say what that most likely means.
   */
  private logRefusedAfterTls(): void {
    const level = this.failedAttempts === 0 ? 'warn' : 'info';
    this.log(
      level,
      'closed after the TLS handshake, before answering our hello: the peer most likely refused ' +
        "this member's certificate (--peer-cert-file must be signed by the CA in the peer's " +
        '--peer-trusted-ca-file; its log says why)',
    );
  }

  private onBackoffElapsed(): void {
    this.timer = null;
    if (this.state !== 'backoff') return;
    this.state = 'idle';
    if (this.queue.length > 0) this.connect();
  }

  /**
   * A lost connection loses the snapshot being streamed and any whose last write is unconfirmed.
   * Queued snapshots are failed too: raft resends a fresh one after the report, while other
   * queued messages stay for the next connection (raft tolerates stale ones).
   */
  private failSnapshots(): void {
    if (this.streaming !== null) {
      closeStreamSource(this.streaming);
      this.reportSnapshot(this.streaming, true);
    }
    this.streaming = null;
    for (const stream of this.unconfirmed) this.reportSnapshot(stream, true);
    this.unconfirmed.clear();
    const dropped = this.queue.removeWhere(isSnapshotMessage);
    for (let i = 0; i < dropped.length; i++) {
      this.closeSource(dropped[i]!);
      this.reportSnapshot(newStream(dropped[i]!, null), true);
    }
  }

  /** Writes what this turn queued now instead of at the end of the turn (see PeerTransport.flush). */
  flushNow(): void {
    if (this.flushScheduled) this.flush();
  }

  /**
   * One flush per event-loop turn: every send() of this turn goes out in one writev. Messages
   * sent in this turn (`yieldFirst`) wait one turn more, so that what else this turn wrote leaves
   * first: a client's answer, whose gRPC trailers node:http2 sends from a setImmediate of its own.
   * Under load those are mostly the leader's commit announcements and heartbeats and followers'
   * acknowledgements; the leader's appends of new entries do not wait (PeerTransport.flush before
   * its fsync). Sequential puts, five alternating runs each: median p50 0.93 → 0.86 ms.
   */
  private scheduleFlush(yieldFirst = false): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(yieldFirst ? this.flushNextTurnBound : this.flushBound);
  }

  private flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (this.state !== 'ready' || socket === null) return;
    const { writeBufferBytesMax } = this.context.config;
    socket.cork();
    try {
      while (socket.writableLength < writeBufferBytesMax) {
        if (this.streaming !== null) {
          this.writeChunk(socket, this.streaming);
          continue;
        }
        const m = this.queue.shift();
        if (m === undefined) break;
        if (m.type === MessageType.Snapshot && m.snapshot !== null) this.beginSnapshot(socket, m);
        else this.writeMessage(socket, m);
      }
    } finally {
      socket.uncork();
    }
    // Stopped at the buffer bound: 'drain' resumes us. It only fires if a write returned false,
    // so if the bound is below the socket's highWaterMark, poll again next turn instead.
    if ((this.queue.length > 0 || this.streaming !== null) && !socket.writableNeedDrain) this.scheduleFlush();
  }

  private writeMessage(socket: Socket, m: Message): void {
    const frame = this.context.codec.encodeMessageFrame(m);
    // The length prefix counts the type byte and the payload.
    if (frame.length - FRAME_HEADER_BYTES + 1 > this.context.config.maxFrameBytes) {
      this.context.counters.messagesTooLarge++;
      this.log(
        'warn',
        `dropped a ${MessageType[m.type]} message of ${frame.length} bytes (over maxFrameBytes)`,
      );
      return;
    }
    socket.write(frame);
    this.countSent();
  }

  private beginSnapshot(socket: Socket, m: Message): void {
    const source = this.sources.get(m) ?? null;
    this.sources.delete(m);
    const stream = newStream(m, source);
    this.countSent();
    if (source !== null) {
      socket.write(this.context.codec.encodeSnapshotBeginFrame(m, true));
      this.streaming = stream;
      return;
    }
    if (stream.data.length === 0) {
      this.unconfirmed.add(stream);
      socket.write(this.context.codec.encodeSnapshotBeginFrame(m), (error) =>
        this.onLastWrite(stream, error),
      );
      return;
    }
    socket.write(this.context.codec.encodeSnapshotBeginFrame(m));
    this.streaming = stream;
  }

  /** Header and data are separate writes (coalesced by cork into one writev): no copy of the data. */
  private writeChunk(socket: Socket, stream: SnapshotStream): void {
    if (stream.source !== null) {
      this.writeStreamedChunk(socket, stream, stream.source);
      return;
    }
    const chunkBytes = Math.min(
      this.context.config.snapshotChunkBytes,
      stream.data.length - stream.offsetBytes,
    );
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, FrameType.SnapshotChunk, chunkBytes);
    socket.write(header);
    const chunk = stream.data.subarray(stream.offsetBytes, stream.offsetBytes + chunkBytes);
    stream.offsetBytes += chunkBytes;
    if (stream.offsetBytes < stream.data.length) {
      socket.write(chunk);
      return;
    }
    this.streaming = null;
    this.unconfirmed.add(stream);
    socket.write(chunk, (error) => this.onLastWrite(stream, error));
  }

  /** The source's next piece as one chunk frame, or, once it has no more, the SnapshotEnd frame. */
  private writeStreamedChunk(socket: Socket, stream: SnapshotStream, source: SnapshotSource): void {
    const piece = source.next();
    if (piece === null) {
      closeStreamSource(stream);
      this.streaming = null;
      this.unconfirmed.add(stream);
      socket.write(this.context.codec.encodeSnapshotEndFrame(stream.offsetBytes), (error) =>
        this.onLastWrite(stream, error),
      );
      return;
    }
    assert(
      piece.length < this.context.config.maxFrameBytes,
      'a streamed snapshot piece exceeds maxFrameBytes',
    );
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, FrameType.SnapshotChunk, piece.length);
    socket.write(header);
    socket.write(piece);
    stream.offsetBytes += piece.length;
  }

  private closeSource(m: Message): void {
    const source = this.sources.get(m);
    if (source === undefined) return;
    this.sources.delete(m);
    source.close();
  }

  private onLastWrite(stream: SnapshotStream, error: Error | null | undefined): void {
    this.unconfirmed.delete(stream);
    if (this.state === 'closed') return;
    this.reportSnapshot(stream, error != null);
  }

  private reportSnapshot(stream: SnapshotStream, failed: boolean): void {
    if (stream.reported) return;
    stream.reported = true;
    if (failed) this.context.counters.snapshotsFailed++;
    else this.context.counters.snapshotsSent++;
    this.context.onSnapshotSent(this.peerId, failed);
  }

  /** From inside send(): defer, so raft is not re-entered while it hands out messages. */
  private reportSnapshotLater(failed: boolean): void {
    if (failed) this.context.counters.snapshotsFailed++;
    else this.context.counters.snapshotsSent++;
    queueMicrotask(() => {
      if (this.state !== 'closed') this.context.onSnapshotSent(this.peerId, failed);
    });
  }

  private countSent(): void {
    this.messagesSent++;
    this.context.counters.messagesSent++;
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.context.config.log(
      level,
      `transport ${hex(this.context.config.selfId)} → ${hex(this.peerId)} (${this.kind}, ` +
        `${this.address.secure ? 'https://' : ''}${this.address.host}:${this.address.port}): ${message}`,
    );
  }
}

function isSnapshotMessage(m: Message): boolean {
  return m.type === MessageType.Snapshot;
}

function newStream(m: Message, source: SnapshotSource | null): SnapshotStream {
  assert(m.snapshot !== null, 'snapshot message without a snapshot');
  return { message: m, data: m.snapshot.data, offsetBytes: 0, source, reported: false };
}

function closeStreamSource(stream: SnapshotStream): void {
  const source = stream.source;
  stream.source = null;
  source?.close();
}
