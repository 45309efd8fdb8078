// Shared helpers for transport tests: message builders, a bounded waitFor, and a pair of
// transports on loopback that the caller closes.

import { setTimeout as delay } from 'node:timers/promises';
import { EntryType, type Message, MessageType, message } from '../../src/raft/types.js';
import type { LogLevel, PeerTransportOptions } from '../../src/transport/config.js';
import { PeerTransport } from '../../src/transport/transport.js';

export const CLUSTER_ID = 0xc1_5700_0000_0001n;
export const HOST = '127.0.0.1';
/** Poll interval for waitFor: short, since every wait is bounded by its own timeout. */
const POLL_INTERVAL_MS = 5;
export const WAIT_TIMEOUT_MS = 10_000;

/** Resolves once `predicate()` holds; rejects with `what` after `timeoutMs`. Never a fixed sleep. */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(POLL_INTERVAL_MS);
  }
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Deterministic pseudo-random bytes (so a corrupted byte anywhere is detected). */
export function patternBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function append(from: bigint, to: bigint, index: number, count = 1): Message {
  const entries = [];
  for (let i = 1; i <= count; i++) {
    entries.push({ term: 2, index: index + i, type: EntryType.Normal, data: bytes(index & 0xff, i & 0xff) });
  }
  return message({ type: MessageType.Append, from, to, term: 2, logTerm: 2, index, entries, commit: index });
}

export function heartbeat(from: bigint, to: bigint, commit: number): Message {
  return message({ type: MessageType.Heartbeat, from, to, term: 2, commit });
}

export function snapshotMessage(from: bigint, to: bigint, data: Uint8Array): Message {
  return message({
    type: MessageType.Snapshot,
    from,
    to,
    term: 3,
    snapshot: { metadata: { index: 100, term: 3, confState: { voters: [from, to], learners: [] } }, data },
  });
}

export interface LogLine {
  readonly level: LogLevel;
  readonly message: string;
}

/** A started transport that records what it receives and logs. */
export interface Node {
  readonly id: bigint;
  readonly transport: PeerTransport;
  readonly port: number;
  readonly received: Message[];
  readonly logs: LogLine[];
  readonly unreachable: bigint[];
  readonly snapshotsSent: { id: bigint; failed: boolean }[];
}

export async function startNode(
  id: bigint,
  extra: Partial<PeerTransportOptions> = {},
  opened: PeerTransport[] = [],
): Promise<Node> {
  const received: Message[] = [];
  const logs: LogLine[] = [];
  const unreachable: bigint[] = [];
  const snapshotsSent: { id: bigint; failed: boolean }[] = [];
  const transport = new PeerTransport({
    selfId: id,
    clusterId: CLUSTER_ID,
    listenHost: HOST,
    listenPort: 0,
    onMessage: (m) => received.push(m),
    onPeerUnreachable: (peer) => unreachable.push(peer),
    onSnapshotSent: (peer, failed) => snapshotsSent.push({ id: peer, failed }),
    reconnectBaseMs: 10,
    reconnectMaxMs: 100,
    rng: () => 0.5,
    log: (level, line) => logs.push({ level, message: line }),
    ...extra,
  });
  opened.push(transport);
  const { port } = await transport.start();
  return { id, transport, port, received, logs, unreachable, snapshotsSent };
}
