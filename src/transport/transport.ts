// PeerTransport: raft messages between the nodes of one cluster over TCP.
//
// Outbound, each peer has two lanes (lane.ts), each its own lazily dialled connection with a
// bounded queue: "priority" for heartbeats, votes and other small control messages, "bulk" for
// appends, snapshots and forwarded proposals. Inbound, every accepted connection must first say
// hello with this cluster's id and this node's id (handshake.ts). Delivery is at most once and
// FIFO per lane; raft tolerates the loss and cross-lane reordering this allows. With TLS
// (options.tls), the listener and the connections to https:// peers are TLS; a peer refused at
// the TLS handshake (no certificate, or one not signed by our CA) never reaches the hello.

import { createServer, type Server, type Socket } from 'node:net';
import { assert } from '../raft/assert.js';
import type { Message, NodeId } from '../raft/types.js';
import { isNetworkMessageType } from './codec.js';
import {
  newContext,
  type PeerTransportOptions,
  resolveConfig,
  type TransportContext,
  type TransportCounters,
} from './config.js';
import { hex } from './handshake.js';
import { InboundConnection } from './inbound.js';
import { type LaneStats, laneFor, OutboundLane } from './lane.js';
import type { SnapshotSource } from './snapshot-stream.js';
import { createTlsListener } from './tls-listener.js';

export interface PeerStats {
  readonly id: NodeId;
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly priority: LaneStats;
  readonly bulk: LaneStats;
}

export interface TransportStats extends Readonly<TransportCounters> {
  /** Accepted connections currently open. */
  readonly inboundConnections: number;
  readonly peers: readonly PeerStats[];
}

interface Peer {
  host: string;
  port: number;
  secure: boolean;
  readonly priority: OutboundLane;
  readonly bulk: OutboundLane;
}

type TransportState = 'new' | 'starting' | 'running' | 'closed';

export class PeerTransport {
  private readonly context: TransportContext;
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly inbound = new Set<InboundConnection>();
  private server: Server | null = null;
  private state: TransportState = 'new';
  private readonly onInboundClosed = (connection: InboundConnection): void => {
    this.inbound.delete(connection);
  };

  constructor(options: PeerTransportOptions) {
    const config = resolveConfig(options);
    this.context = newContext(options, config);
    this.listenHost = options.listenHost;
    this.listenPort = options.listenPort;
  }

  /** Listens on listenHost:listenPort; resolves with the bound port (useful with port 0). */
  async start(): Promise<{ port: number }> {
    assert(this.state === 'new', `start() on a transport that is ${this.state}`);
    this.state = 'starting';
    const server = this.createListener();
    server.maxConnections = this.context.config.inboundConnectionsMax;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.listenHost, port: this.listenPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // A listening server's later errors (rare: e.g. EMFILE on accept) are logged, not fatal.
    server.on('error', (error: Error) => this.log('warn', `listener error: ${error.message}`));
    const address = server.address();
    assert(address !== null && typeof address === 'object', 'a TCP server has an address object');
    // close() may have run while we were binding (TypeScript cannot see that across the await).
    if ((this.state as TransportState) === 'closed') {
      server.close();
    } else {
      this.state = 'running';
    }
    return { port: address.port };
  }

  /**
   * Hands everything queued so far to the kernel now. A leader calls this before its own fsync
   * so followers write the same entries in parallel (Raft thesis §10.2.1).
   */
  flush(): void {
    for (const peer of this.peers.values()) {
      peer.priority.flushNow();
      peer.bulk.flushNow();
    }
  }

  private createListener(): Server {
    const listenTls = this.context.config.tls.listen;
    if (listenTls === null) return createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    return createTlsListener(
      listenTls,
      (socket) => this.onConnection(socket),
      (remoteAddress, reason) => {
        this.context.counters.handshakesRefused++;
        this.log('warn', `refused TLS connection from ${remoteAddress}: ${reason}`);
      },
    );
  }

  /**
   * Adds a peer, or moves it to a new address (its connections are re-dialled). `secure`: dial
   * with TLS (the peer's URL is https://).
   */
  addPeer(id: NodeId, host: string, port: number, secure = false): void {
    assert(id !== this.context.config.selfId, `addPeer with this node's own id ${hex(id)}`);
    assert(id !== 0n, 'addPeer with raft NONE (0)');
    assert(Number.isInteger(port) && port > 0 && port <= 65535, `addPeer: bad port ${port}`);
    if (this.state === 'closed') return;
    const existing = this.peers.get(id);
    const address = { host, port, secure };
    if (existing !== undefined) {
      existing.host = host;
      existing.port = port;
      existing.secure = secure;
      existing.priority.setAddress(address);
      existing.bulk.setAddress(address);
      return;
    }
    this.peers.set(id, {
      host,
      port,
      secure,
      priority: new OutboundLane(this.context, id, 'priority', address),
      bulk: new OutboundLane(this.context, id, 'bulk', address),
    });
  }

  /** Forgets a peer: closes its connections and drops what is queued (no callbacks for it). */
  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    this.peers.delete(id);
    peer.priority.close();
    peer.bulk.close();
  }

  /**
   * Queues `m` for `m.to`; never blocks and never throws for network reasons. Written in the
   * next event-loop turn together with everything else sent this turn.
   */
  send(m: Message): void {
    assert(isNetworkMessageType(m.type), `send() of local message type ${m.type}`);
    const peer = this.state === 'closed' ? undefined : this.peers.get(m.to);
    if (peer === undefined) {
      this.context.counters.messagesUnroutable++;
      return;
    }
    if (laneFor(m.type) === 'priority') peer.priority.enqueue(m);
    else peer.bulk.enqueue(m);
  }

  /**
   * Queues a Snapshot message whose data continues with the bytes `source` produces, read only as
   * the connection has room (snapshot-stream.ts). The source is closed however the send ends;
   * onSnapshotSent reports the outcome as for any snapshot.
   */
  sendSnapshot(m: Message, source: SnapshotSource): void {
    const peer = this.state === 'closed' ? undefined : this.peers.get(m.to);
    if (peer === undefined) {
      this.context.counters.messagesUnroutable++;
      source.close();
      return;
    }
    peer.bulk.enqueueStreamed(m, source);
  }

  /** Closes the listener and every connection. No callbacks fire after it returns. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const peer of this.peers.values()) {
      peer.priority.close();
      peer.bulk.close();
    }
    this.peers.clear();
    for (const connection of this.inbound) connection.close();
    this.inbound.clear();
    const server = this.server;
    this.server = null;
    if (server === null || !server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stats(): TransportStats {
    const peers: PeerStats[] = [];
    for (const [id, peer] of this.peers) {
      peers.push({
        id,
        host: peer.host,
        port: peer.port,
        secure: peer.secure,
        priority: peer.priority.stats(),
        bulk: peer.bulk.stats(),
      });
    }
    return { ...this.context.counters, inboundConnections: this.inbound.size, peers };
  }

  private onConnection(socket: Socket): void {
    if (this.state !== 'running') {
      socket.destroy();
      return;
    }
    this.inbound.add(new InboundConnection(this.context, socket, this.onInboundClosed));
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.context.config.log(level, `transport ${hex(this.context.config.selfId)}: ${message}`);
  }
}
