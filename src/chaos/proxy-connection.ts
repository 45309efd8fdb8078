// One connection through a LinkProxy (proxy.ts): read the dialler's Hello to learn who it is,
// then dial the member and forward both directions through a Pipe each (proxy-pipe.ts), under
// whatever rules the proxy holds for that peer at the moment each chunk arrives.

import { createConnection, type Socket } from 'node:net';
import { assert } from '../raft/assert.js';
import type { MessageCodec } from '../transport/codec.js';
import { FrameError } from '../transport/errors.js';
import { FrameDecoder, FrameType } from '../transport/frame.js';
import { decodeHello, hex } from '../transport/handshake.js';
import { Pipe, type PipeCounters } from './proxy-pipe.js';

export type LinkRule = { kind: 'pass' } | { kind: 'drop' } | { kind: 'delay'; delayMs: number };

/** Counters the proxy's connections share (LinkProxy.stats() adds the open-connection count). */
export interface ProxyCounters extends PipeCounters {
  connectionsAccepted: number;
  /** Open connections closed because a rule said "drop" or a delay queue overflowed. */
  connectionsCut: number;
  /** New connections closed right after their Hello because the link to that peer is down. */
  connectionsRefused: number;
  /** Connections closed because their first frame was not a valid Hello in time. */
  hellosRejected: number;
  /** Connections cut because more than queuedBytesMax waited in their delay queues. */
  queueOverflows: number;
  /** Connections closed because the member's port could not be reached. */
  targetFailures: number;
}

export function newProxyCounters(): ProxyCounters {
  return {
    connectionsAccepted: 0,
    connectionsCut: 0,
    connectionsRefused: 0,
    hellosRejected: 0,
    queueOverflows: 0,
    targetFailures: 0,
    bytesForwarded: 0,
    bytesDropped: 0,
  };
}

/** What a connection needs from its proxy. */
export interface ConnectionEnv {
  readonly targetHost: string;
  readonly targetPort: number;
  readonly helloTimeoutMs: number;
  readonly helloFrameBytesMax: number;
  readonly targetConnectTimeoutMs: number;
  readonly queuedBytesMax: number;
  readonly codec: MessageCodec;
  readonly counters: ProxyCounters;
  /** The rule for bytes from peer `fromId` to the member. */
  readonly inboundRule: (fromId: bigint) => LinkRule;
  /** The rule for bytes from the member back to peer `toId`. */
  readonly replyRule: (toId: bigint) => LinkRule;
  readonly onClosed: (connection: ProxiedConnection) => void;
  readonly log: (line: string) => void;
}

type ConnectionState = 'hello' | 'open' | 'closed';

export class ProxiedConnection {
  private state: ConnectionState = 'hello';
  /** The dialler's member id, known once its Hello is read (0 for a discovery probe). */
  private peerId: bigint | null = null;
  private decoder: FrameDecoder | null;
  /** Everything read before the Hello was complete; forwarded verbatim once the target is dialled. */
  private helloChunks: Uint8Array[] = [];
  private helloBytes = 0;
  private timer: NodeJS.Timeout | null;
  private target: Socket | null = null;
  private inbound: Pipe | null = null;
  private reply: Pipe | null = null;
  private targetConnected = false;
  private clientClosed = false;
  private targetClosed = false;
  private readonly remote: string;

  constructor(
    private readonly env: ConnectionEnv,
    private readonly client: Socket,
  ) {
    this.remote = `${client.remoteAddress}:${client.remotePort}`;
    // The Hello must fit in helloFrameBytesMax: a stranger cannot make the proxy buffer more.
    this.decoder = new FrameDecoder(env.helloFrameBytesMax);
    client.setNoDelay(true);
    this.timer = setTimeout(
      () => this.rejectHello(`no hello within ${env.helloTimeoutMs} ms`),
      env.helloTimeoutMs,
    );
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    client.on('error', (error: Error) => this.env.log(`${this.name()}: client error: ${error.message}`));
    client.on('close', () => this.onClientClose());
  }

  /** The dialling member, or null while its Hello is still being read. */
  get fromId(): bigint | null {
    return this.peerId;
  }

  get queuedBytes(): number {
    return (this.inbound?.queuedBytes ?? 0) + (this.reply?.queuedBytes ?? 0);
  }

  /**
   * Re-reads the rules for this peer; they take effect on bytes already held back too. "drop" in
   * either direction cuts the connection (a framed stream with a gap is garbage to its reader);
   * "pass" releases delayed bytes now.
   */
  applyRules(): void {
    if (this.state !== 'open' || this.peerId === null) return;
    const inboundRule = this.env.inboundRule(this.peerId);
    const replyRule = this.env.replyRule(this.peerId);
    if (inboundRule.kind === 'drop' || replyRule.kind === 'drop') {
      this.cut('link down');
      return;
    }
    if (inboundRule.kind === 'pass') this.inbound?.releaseAll();
    if (replyRule.kind === 'pass') this.reply?.releaseAll();
  }

  /** Closes both sockets now (proxy close, or a cut). Queued bytes count as dropped. */
  destroy(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimer();
    this.counters().bytesDropped += this.helloBytes;
    this.helloChunks = [];
    this.helloBytes = 0;
    this.inbound?.discard();
    this.reply?.discard();
    this.client.destroy();
    this.target?.destroy();
    this.env.onClosed(this);
  }

  private onClientData(chunk: Buffer): void {
    if (this.state === 'hello') this.readHello(chunk);
    else if (this.state === 'open') this.forward(this.inbound!, this.env.inboundRule(this.peerId!), chunk);
  }

  private readHello(chunk: Buffer): void {
    const decoder = this.decoder!;
    this.helloChunks.push(chunk);
    this.helloBytes += chunk.length;
    let fromId: bigint;
    try {
      decoder.push(chunk);
      const frame = decoder.next();
      if (frame === null) return;
      if (frame.type !== FrameType.Hello) {
        throw new FrameError(`expected a hello, got a ${FrameType[frame.type]} frame`);
      }
      fromId = decodeHello(this.env.codec, frame.payload).fromId;
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.rejectHello(error.message);
      return;
    }
    this.clearTimer();
    this.decoder = null;
    this.peerId = fromId;
    if (this.env.inboundRule(fromId).kind === 'drop' || this.env.replyRule(fromId).kind === 'drop') {
      this.counters().connectionsRefused++;
      this.env.log(`${this.name()}: refused (link down)`);
      this.destroy();
      return;
    }
    this.openTarget();
  }

  private openTarget(): void {
    assert(this.state === 'hello' && this.target === null, 'openTarget twice');
    const target = createConnection({ host: this.env.targetHost, port: this.env.targetPort });
    target.setNoDelay(true);
    this.target = target;
    this.inbound = new Pipe(this.client, target, this.env.counters);
    this.reply = new Pipe(target, this.client, this.env.counters);
    this.state = 'open';
    this.timer = setTimeout(() => this.onTargetConnectTimeout(), this.env.targetConnectTimeoutMs);
    target.once('connect', () => {
      this.targetConnected = true;
      this.clearTimer();
    });
    target.on('data', (chunk: Buffer) => {
      if (this.state === 'open') this.forward(this.reply!, this.env.replyRule(this.peerId!), chunk);
    });
    target.on('error', (error: Error) => this.onTargetError(error));
    target.on('close', () => this.onTargetClose());
    // Node holds writes until the connection is up; the Hello goes first, under the current rule.
    const chunks = this.helloChunks;
    this.helloChunks = [];
    this.helloBytes = 0;
    for (const chunk of chunks) {
      if (this.state !== 'open') return;
      this.forward(this.inbound, this.env.inboundRule(this.peerId!), chunk);
    }
  }

  private forward(pipe: Pipe, rule: LinkRule, chunk: Uint8Array): void {
    if (rule.kind === 'drop') {
      // applyRules cuts at once when a drop rule is set; this is the backstop.
      this.counters().bytesDropped += chunk.length;
      this.cut('link down');
      return;
    }
    pipe.push(chunk, rule.kind === 'delay' ? rule.delayMs : 0);
    if (this.queuedBytes > this.env.queuedBytesMax) {
      this.counters().queueOverflows++;
      this.cut(`more than ${this.env.queuedBytesMax} bytes delayed`);
    }
  }

  private cut(reason: string): void {
    if (this.state === 'closed') return;
    this.counters().connectionsCut++;
    this.env.log(`${this.name()}: cut (${reason})`);
    this.destroy();
  }

  private rejectHello(reason: string): void {
    if (this.state !== 'hello') return;
    this.counters().hellosRejected++;
    this.env.log(`${this.name()}: closing, bad hello: ${reason}`);
    this.destroy();
  }

  private onTargetConnectTimeout(): void {
    this.timer = null;
    if (this.state !== 'open') return;
    this.counters().targetFailures++;
    this.env.log(`${this.name()}: member not reachable within ${this.env.targetConnectTimeoutMs} ms`);
    this.destroy();
  }

  private onTargetError(error: Error): void {
    // 'close' follows and does the cleanup. Only a failed dial counts as a target failure.
    if (this.state === 'open' && !this.targetConnected) {
      this.counters().targetFailures++;
    }
    this.env.log(`${this.name()}: member connection error: ${error.message}`);
  }

  /** The dialler closed: deliver what is still delayed towards the member, then close that side. */
  private onClientClose(): void {
    this.clientClosed = true;
    if (this.state === 'hello') {
      this.destroy();
      return;
    }
    this.inbound?.sourceClosed();
    this.reply?.discard();
    this.finishIfBothClosed();
  }

  /** The member closed: deliver what is still delayed towards the dialler, then close that side. */
  private onTargetClose(): void {
    this.targetClosed = true;
    this.clearTimer();
    this.reply?.sourceClosed();
    this.inbound?.discard();
    this.finishIfBothClosed();
  }

  private finishIfBothClosed(): void {
    if (this.clientClosed && this.targetClosed) this.destroy();
  }

  private counters(): ProxyCounters {
    return this.env.counters;
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  private name(): string {
    return this.peerId === null ? `connection from ${this.remote}` : `link from ${hex(this.peerId)}`;
  }
}
