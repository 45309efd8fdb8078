// One accepted connection: the hello check, then messages (and chunked snapshots) to onMessage.
// Everything read here is untrusted until parsed: a frame that does not fit closes the
// connection and is counted; nothing partial reaches raft.

import type { Socket } from 'node:net';
import { type Message, MessageType } from '../raft/types.js';
import { type SnapshotBegin, withSnapshotData } from './codec.js';
import { KEEPALIVE_INITIAL_DELAY_MS, type TransportContext } from './config.js';
import { FrameError } from './errors.js';
import { encodeFrame, type Frame, FrameDecoder, FrameType } from './frame.js';
import { decodeHello, encodeRefuseFrame, hex, isDiscoveryProbe, refusalReason } from './handshake.js';
import type { SnapshotSink } from './snapshot-stream.js';

type InboundState = 'hello' | 'ready' | 'refused' | 'closed';

/** A snapshot being reassembled from its chunks. */
interface SnapshotAssembly {
  readonly begin: SnapshotBegin;
  readonly data: Uint8Array;
  filledBytes: number;
}

/** A streamed snapshot whose chunks go to a sink as they arrive. */
interface SnapshotStreamIn {
  readonly sink: SnapshotSink;
  receivedBytes: number;
}

const HELLO_ACCEPT_FRAME = encodeFrame(FrameType.HelloAccept);

export class InboundConnection {
  private state: InboundState = 'hello';
  private readonly decoder: FrameDecoder;
  private timer: NodeJS.Timeout | null;
  private peerId: bigint | null = null;
  private assembly: SnapshotAssembly | null = null;
  private streamIn: SnapshotStreamIn | null = null;
  private readonly remote: string;

  constructor(
    private readonly context: TransportContext,
    private readonly socket: Socket,
    private readonly onClosed: (connection: InboundConnection) => void,
  ) {
    const { config } = context;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.decoder = new FrameDecoder(config.maxFrameBytes);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    this.timer = setTimeout(() => this.onHandshakeTimeout(), config.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: Error) => this.log('info', `connection error: ${error.message}`));
    socket.on('close', () => this.onClose());
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.abortStream();
    this.socket.destroy();
  }

  /** A streamed snapshot cut off by a bad frame or a lost connection never reaches raft. */
  private abortStream(): void {
    const streamIn = this.streamIn;
    this.streamIn = null;
    streamIn?.sink.abort();
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'refused' || this.state === 'closed') return;
    try {
      this.decoder.push(chunk);
      for (let frame = this.decoder.next(); frame !== null; frame = this.decoder.next()) {
        if (this.state === 'hello') this.onHello(frame);
        else this.onFrame(frame);
        // onMessage may have closed the transport, or a hello was refused.
        if (this.state !== 'ready') return;
      }
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.context.counters.frameErrors++;
      this.log('warn', `closing: ${error.message}`);
      this.close();
    }
  }

  private onHello(frame: Frame): void {
    if (frame.type !== FrameType.Hello)
      throw new FrameError(`expected a hello, got a ${FrameType[frame.type]} frame`);
    const { config, codec } = this.context;
    const hello = decodeHello(codec, frame.payload);
    if (isDiscoveryProbe(hello) && this.context.clusterInfo !== null) {
      const info = this.context.clusterInfo();
      this.state = 'refused';
      const members = info.members.map((m) => [m.id, m.peerUrls]);
      this.socket.end(encodeFrame(FrameType.ClusterInfo, codec.encodeValue([info.clusterId, members])));
      return;
    }
    const reason = refusalReason(hello, config.selfId, config.clusterId);
    if (reason !== null) {
      this.state = 'refused';
      this.context.counters.handshakesRefused++;
      this.log('warn', `refused hello from member ${hex(hello.fromId)}: ${reason}`);
      // end() lets the reason reach the peer before FIN; the handshake timer still bounds
      // how long a peer that never closes its side can hold the socket.
      this.socket.end(encodeRefuseFrame(reason));
      return;
    }
    this.clearTimer();
    this.peerId = hello.fromId;
    this.state = 'ready';
    this.socket.write(HELLO_ACCEPT_FRAME);
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case FrameType.Message:
        this.deliver(this.checkAddress(this.context.codec.decodeMessage(frame.payload)));
        return;
      case FrameType.SnapshotBegin:
        this.onSnapshotBegin(frame.payload);
        return;
      case FrameType.SnapshotChunk:
        if (this.streamIn !== null) this.onStreamedChunk(this.streamIn, frame.payload);
        else this.onSnapshotChunk(frame.payload);
        return;
      case FrameType.SnapshotEnd:
        this.onSnapshotEnd(frame.payload);
        return;
      default:
        throw new FrameError(`unexpected ${FrameType[frame.type]} frame after the handshake`);
    }
  }

  private onSnapshotBegin(payload: Uint8Array): void {
    if (this.assembly !== null || this.streamIn !== null)
      throw new FrameError('SnapshotBegin while a snapshot is still being received');
    const begin = this.context.codec.decodeSnapshotBegin(payload);
    this.checkAddress(begin.message);
    if (begin.dataBytes === null) {
      this.streamIn = { sink: this.context.receiveSnapshot(begin.message), receivedBytes: 0 };
      return;
    }
    const { snapshotBytesMax } = this.context.config;
    if (begin.dataBytes > snapshotBytesMax) {
      throw new FrameError(
        `snapshot of ${begin.dataBytes} bytes exceeds snapshotBytesMax ${snapshotBytesMax}`,
      );
    }
    if (begin.dataBytes === 0) {
      this.deliverSnapshot(begin.message);
      return;
    }
    // Bounded by snapshotBytesMax, checked above, before allocating.
    this.assembly = { begin, data: new Uint8Array(begin.dataBytes), filledBytes: 0 };
  }

  private onSnapshotChunk(payload: Uint8Array): void {
    const assembly = this.assembly;
    if (assembly === null) throw new FrameError('SnapshotChunk without a SnapshotBegin');
    if (assembly.filledBytes + payload.length > assembly.data.length) {
      throw new FrameError(`snapshot chunks exceed the announced ${assembly.data.length} bytes`);
    }
    assembly.data.set(payload, assembly.filledBytes);
    assembly.filledBytes += payload.length;
    if (assembly.filledBytes < assembly.data.length) return;
    this.assembly = null;
    this.deliverSnapshot(withSnapshotData(assembly.begin.message, assembly.data));
  }

  /** Checked before the sink sees the bytes: a peer cannot make this node store more than it agreed to. */
  private onStreamedChunk(streamIn: SnapshotStreamIn, payload: Uint8Array): void {
    const { snapshotBytesMax } = this.context.config;
    if (streamIn.receivedBytes + payload.length > snapshotBytesMax) {
      throw new FrameError(`streamed snapshot exceeds snapshotBytesMax ${snapshotBytesMax}`);
    }
    streamIn.receivedBytes += payload.length;
    streamIn.sink.write(payload);
  }

  private onSnapshotEnd(payload: Uint8Array): void {
    const streamIn = this.streamIn;
    if (streamIn === null) throw new FrameError('SnapshotEnd without a streamed SnapshotBegin');
    const streamedBytes = this.context.codec.decodeSnapshotEnd(payload);
    if (streamedBytes !== streamIn.receivedBytes) {
      throw new FrameError(
        `SnapshotEnd says ${streamedBytes} bytes, chunks carried ${streamIn.receivedBytes}`,
      );
    }
    this.streamIn = null;
    this.deliverSnapshot(streamIn.sink.finish());
  }

  private deliverSnapshot(m: Message): void {
    this.context.counters.snapshotsReceived++;
    this.deliver(m);
  }

  /** A message must come from the member that said hello and be meant for this node. */
  private checkAddress(m: Message): Message {
    if (m.from !== this.peerId || m.to !== this.context.config.selfId) {
      throw new FrameError(
        `${MessageType[m.type]} from ${hex(m.from)} to ${hex(m.to)} on a connection from ` +
          `${hex(this.peerId ?? 0n)} to ${hex(this.context.config.selfId)}`,
      );
    }
    return m;
  }

  private deliver(m: Message): void {
    this.context.counters.messagesReceived++;
    // Not caught: a throwing onMessage is a bug in the node, and hiding it would be worse.
    this.context.onMessage(m);
  }

  private onHandshakeTimeout(): void {
    this.timer = null;
    if (this.state === 'hello') {
      this.context.counters.handshakeTimeouts++;
      this.log('warn', `no hello within ${this.context.config.handshakeTimeoutMs} ms`);
    }
    this.close();
  }

  private onClose(): void {
    this.state = 'closed';
    this.clearTimer();
    this.assembly = null;
    this.abortStream();
    this.onClosed(this);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private log(level: 'info' | 'warn', message: string): void {
    const peer = this.peerId === null ? '?' : hex(this.peerId);
    this.context.config.log(
      level,
      `transport ${hex(this.context.config.selfId)} ← ${peer} (${this.remote}): ${message}`,
    );
  }
}
