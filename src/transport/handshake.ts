// The handshake: the first frame on every connection.
//
// The dialling side sends Hello `[protocolVersion, clusterId, fromId, toId]`. The listening side
// answers HelloAccept, or HelloRefuse with a reason and closes. Refusing a peer from another
// cluster or one that meant to reach another member id keeps a misconfigured node (a stale
// address after a member was replaced, a copied data directory) from injecting votes or
// appends into this cluster's raft.

import type { MessageCodec } from './codec.js';
import { FrameError } from './errors.js';
import { encodeFrame, FrameType } from './frame.js';
import { readArray, readCount, readId } from './wire-values.js';

/**
 * Bumped on any incompatible change to frames or the message encoding.
 * 2: snapshots are streamed (SnapshotBegin without a length, SnapshotChunk, SnapshotEnd).
 */
export const PROTOCOL_VERSION = 2;

const HELLO_FIELDS = 4;

export interface Hello {
  readonly protocolVersion: number;
  readonly clusterId: bigint;
  readonly fromId: bigint;
  readonly toId: bigint;
}

export function encodeHelloFrame(codec: MessageCodec, hello: Hello): Uint8Array {
  const payload = codec.encodeValue([hello.protocolVersion, hello.clusterId, hello.fromId, hello.toId]);
  return encodeFrame(FrameType.Hello, payload);
}

export function decodeHello(codec: MessageCodec, payload: Uint8Array): Hello {
  const t = readArray(codec.unpack(payload), 'hello', HELLO_FIELDS);
  return {
    protocolVersion: readCount(t[0], 'hello.protocolVersion'),
    clusterId: readId(t[1], 'hello.clusterId'),
    fromId: readId(t[2], 'hello.fromId'),
    toId: readId(t[3], 'hello.toId'),
  };
}

/** A hello with cluster, from and to all 0 asks "which cluster is this?" (FrameType.ClusterInfo). */
export function isDiscoveryProbe(hello: Hello): boolean {
  return hello.clusterId === 0n && hello.fromId === 0n && hello.toId === 0n;
}

/** Why the listening side `self` must refuse `hello`, or null to accept it. */
export function refusalReason(hello: Hello, selfId: bigint, clusterId: bigint): string | null {
  if (hello.protocolVersion !== PROTOCOL_VERSION) {
    return `protocol version ${hello.protocolVersion}, this node speaks ${PROTOCOL_VERSION}`;
  }
  if (hello.clusterId !== clusterId) {
    return `cluster id ${hex(hello.clusterId)}, this node is in cluster ${hex(clusterId)}`;
  }
  if (hello.toId !== selfId) return `addressed to member ${hex(hello.toId)}, this node is ${hex(selfId)}`;
  if (hello.fromId === selfId) return `peer claims this node's own id ${hex(selfId)}`;
  return null;
}

export function encodeRefuseFrame(reason: string): Uint8Array {
  return encodeFrame(FrameType.HelloRefuse, new TextEncoder().encode(reason));
}

export function decodeRefuseReason(payload: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch (error) {
    throw new FrameError(
      `hello refusal reason is not UTF-8: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/** Member ids are shown in hex, as etcd does. */
export function hex(id: bigint): string {
  return id.toString(16);
}
