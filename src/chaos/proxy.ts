// LinkProxy: a controllable TCP proxy in front of one member's peer port, for the fault lab.
//
// The lab starts each member listening on a private port and advertises the proxy's port
// instead, so every peer connection to member B passes through B's proxy. Each connection opens
// with the dialler's Hello frame (transport/handshake.ts); the proxy reads it to learn who is
// dialling, then forwards the Hello and everything after it both ways, under per-peer rules:
//
//   pass   forward at once.
//   delay  hold each chunk for delayMs, then forward; order is kept. Memory is bounded: a
//          connection with more than queuedBytesMax held back is cut (counted).
//   drop   the link is down. Dropping bytes from a framed stream would corrupt every later frame,
//          so instead the proxy cuts the peer's connections at once and closes new ones right
//          after their Hello while the rule holds. The transport reconnects with backoff, so
//          messages flow again shortly after the rule is lifted.
//
// Direction matters because the transport dials both ways: A's messages to B travel on
// connections A opened to B (through B's proxy), B's messages to A on connections B opened to A
// (through A's proxy). So `setRule(A, drop)` on B's proxy is the one-way partition "A cannot
// reach B" while B still reaches A. `setReplyRule(A, ...)` governs the bytes B sends back on A's
// connections (HelloAccept and the like); for "drop" it cuts the same connections as setRule,
// since the replies are part of A's TCP connection.

import { createServer, type Server, type Socket } from 'node:net';
import { assert } from '../raft/assert.js';
import { MessageCodec } from '../transport/codec.js';
import { hex } from '../transport/handshake.js';
import {
  type ConnectionEnv,
  type LinkRule,
  newProxyCounters,
  ProxiedConnection,
  type ProxyCounters,
} from './proxy-connection.js';

export type { LinkRule } from './proxy-connection.js';

/** A Hello is tiny (four integers); anything near this is not one. */
export const HELLO_FRAME_BYTES_MAX = 64 * 1024;
/** From accept until the Hello is complete. */
export const HELLO_TIMEOUT_MS_DEFAULT = 3_000;
/** The member is on loopback; a dial that takes this long is not going to work. */
export const TARGET_CONNECT_TIMEOUT_MS = 3_000;
/** Per connection, both directions together: bytes held back by a delay rule. */
export const QUEUED_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;
/** Open connections at once; a member has two per peer in each direction, so this is ample. */
export const PROXY_CONNECTIONS_MAX = 1024;
/** Longest delay a rule may ask for: the transport's handshake timeout is 5 s by default. */
export const DELAY_MS_MAX = 60_000;

export interface LinkProxyOptions {
  /** Must be a loopback address: the lab never exposes a proxy beyond this machine. */
  readonly listenHost: string;
  /** 0 picks an ephemeral port; `start()` returns the one chosen. */
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
  /** The member behind the proxy; only used to name it in log lines. */
  readonly targetMemberId?: bigint;
  readonly log?: (line: string) => void;
  readonly helloTimeoutMs?: number;
  readonly queuedBytesMax?: number;
}

export interface LinkProxyStats {
  /** Connections open now (including those still sending their Hello). */
  readonly connections: number;
  readonly connectionsAccepted: number;
  /** Bytes held back by delay rules right now, over all connections. */
  readonly bytesQueued: number;
  /** Bytes handed to a socket, both directions. */
  readonly bytesForwarded: number;
  /** Bytes read that will never be delivered (cut connections, refused Hellos). */
  readonly bytesDropped: number;
  /** Open connections closed by a drop rule or a delay-queue overflow. */
  readonly connectionsCut: number;
  /** New connections closed after their Hello because a drop rule holds for that peer. */
  readonly connectionsRefused: number;
  readonly hellosRejected: number;
  readonly queueOverflows: number;
  readonly targetFailures: number;
}

type ProxyState = 'new' | 'starting' | 'running' | 'closed';

const PASS: LinkRule = { kind: 'pass' };

export class LinkProxy {
  private readonly options: LinkProxyOptions;
  private readonly helloTimeoutMs: number;
  private readonly queuedBytesMax: number;
  private readonly codec = new MessageCodec();
  private readonly counters: ProxyCounters = newProxyCounters();
  /** Rules for bytes from a peer to this member; absent means pass. */
  private readonly inboundRules = new Map<bigint, LinkRule>();
  /** Rules for bytes from this member back to a peer on that peer's connections; absent means pass. */
  private readonly replyRules = new Map<bigint, LinkRule>();
  private readonly connections = new Set<ProxiedConnection>();
  private server: Server | null = null;
  private state: ProxyState = 'new';
  private readonly logLine: (line: string) => void;
  /** What every connection shares with the proxy: built once, not per connection. */
  private readonly connectionEnv: ConnectionEnv;

  constructor(options: LinkProxyOptions) {
    if (!isLoopback(options.listenHost)) {
      throw new RangeError(`listenHost must be a loopback address, got ${options.listenHost}`);
    }
    requireInteger('listenPort', options.listenPort, 0, 65535);
    requireInteger('targetPort', options.targetPort, 1, 65535);
    this.helloTimeoutMs = options.helloTimeoutMs ?? HELLO_TIMEOUT_MS_DEFAULT;
    this.queuedBytesMax = options.queuedBytesMax ?? QUEUED_BYTES_MAX_DEFAULT;
    requireInteger('helloTimeoutMs', this.helloTimeoutMs, 1, 3_600_000);
    requireInteger('queuedBytesMax', this.queuedBytesMax, 1, Number.MAX_SAFE_INTEGER);
    this.options = options;
    const log = options.log;
    const name =
      options.targetMemberId === undefined
        ? `${options.targetHost}:${options.targetPort}`
        : hex(options.targetMemberId);
    this.logLine = log === undefined ? () => {} : (line) => log(`proxy for ${name}: ${line}`);
    this.connectionEnv = {
      targetHost: options.targetHost,
      targetPort: options.targetPort,
      helloTimeoutMs: this.helloTimeoutMs,
      helloFrameBytesMax: HELLO_FRAME_BYTES_MAX,
      targetConnectTimeoutMs: TARGET_CONNECT_TIMEOUT_MS,
      queuedBytesMax: this.queuedBytesMax,
      codec: this.codec,
      counters: this.counters,
      inboundRule: (fromId) => this.inboundRules.get(fromId) ?? PASS,
      replyRule: (toId) => this.replyRules.get(toId) ?? PASS,
      onClosed: (connection) => this.connections.delete(connection),
      log: this.logLine,
    };
  }

  async start(): Promise<{ port: number }> {
    assert(this.state === 'new', `start() on a proxy that is ${this.state}`);
    this.state = 'starting';
    const server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    server.maxConnections = PROXY_CONNECTIONS_MAX;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.listenHost, port: this.options.listenPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error: Error) => this.logLine(`listener error: ${error.message}`));
    const address = server.address();
    assert(address !== null && typeof address === 'object', 'a TCP server has an address object');
    // close() may have run while we were binding.
    if ((this.state as ProxyState) === 'closed') server.close();
    else this.state = 'running';
    return { port: address.port };
  }

  /** Rule for traffic FROM member `from` TO this proxy's member; applies to open connections at once. */
  setRule(from: bigint, rule: LinkRule): void {
    this.store(this.inboundRules, from, rule);
    this.logLine(`from ${hex(from)}: ${describe(rule)}`);
    this.applyRules(from);
  }

  /** Rule for traffic FROM this proxy's member back TO `to` on connections `to` opened. */
  setReplyRule(to: bigint, rule: LinkRule): void {
    this.store(this.replyRules, to, rule);
    this.logLine(`replies to ${hex(to)}: ${describe(rule)}`);
    this.applyRules(to);
  }

  /** Every rule back to pass; bytes held back by a delay go out now. */
  healAll(): void {
    this.inboundRules.clear();
    this.replyRules.clear();
    this.logLine('healed all links');
    for (const connection of [...this.connections]) connection.applyRules();
  }

  stats(): LinkProxyStats {
    const c = this.counters;
    let bytesQueued = 0;
    for (const connection of this.connections) bytesQueued += connection.queuedBytes;
    return {
      connections: this.connections.size,
      connectionsAccepted: c.connectionsAccepted,
      bytesQueued,
      bytesForwarded: c.bytesForwarded,
      bytesDropped: c.bytesDropped,
      connectionsCut: c.connectionsCut,
      connectionsRefused: c.connectionsRefused,
      hellosRejected: c.hellosRejected,
      queueOverflows: c.queueOverflows,
      targetFailures: c.targetFailures,
    };
  }

  /** Stops listening and destroys every connection (held-back bytes are dropped). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const connection of [...this.connections]) connection.destroy();
    assert(this.connections.size === 0, 'a destroyed connection leaves the set');
    const server = this.server;
    this.server = null;
    if (server === null || !server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private store(rules: Map<bigint, LinkRule>, id: bigint, rule: LinkRule): void {
    assert(
      typeof id === 'bigint' && id >= 0n && id <= 0xffff_ffff_ffff_ffffn,
      `member id ${id} is not uint64`,
    );
    if (rule.kind === 'delay') requireInteger('delayMs', rule.delayMs, 0, DELAY_MS_MAX);
    if (rule.kind === 'pass') rules.delete(id);
    else rules.set(id, rule);
  }

  private applyRules(peerId: bigint): void {
    // Copy: applying a drop rule removes connections from the set while we iterate.
    for (const connection of [...this.connections]) {
      if (connection.fromId === peerId) connection.applyRules();
    }
  }

  private onConnection(socket: Socket): void {
    if (this.state !== 'running') {
      socket.destroy();
      return;
    }
    this.counters.connectionsAccepted++;
    this.connections.add(new ProxiedConnection(this.connectionEnv, socket));
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function describe(rule: LinkRule): string {
  return rule.kind === 'delay' ? `delay ${rule.delayMs} ms` : rule.kind;
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}
