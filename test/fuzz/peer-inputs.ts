// What the peer-port fuzzer sends, each on a fresh connection to a member's peer port: garbage,
// mutated and wrong hellos (cluster id, member id, protocol version), garbage after a valid
// hello, oversized and truncated frames, frames of the wrong type, snapshots announced and never
// sent, and replayed raft messages from old terms, mutated or not.
//
// A member trusts the raft messages of a peer that passed the hello: peer authentication is TLS's
// job, not the parser's. So a message that decodes is only ever sent with a stale term (raft
// ignores those, §5.1); forging a current-term append would test authentication, not robustness.

import { EntryType, type Message, MessageType, message } from '../../src/raft/types.js';
import { MessageCodec } from '../../src/transport/codec.js';
import { encodeFrame, FrameType } from '../../src/transport/frame.js';
import { encodeHelloFrame, PROTOCOL_VERSION } from '../../src/transport/handshake.js';
import { mutate, type Rng } from './mutate.js';

export interface PeerView {
  readonly clusterId: bigint;
  readonly memberIds: readonly bigint[];
  /** Every member's term is at least this: messages below it are stale everywhere. */
  readonly staleBelowTerm: number;
}

export interface PeerInput {
  readonly label: string;
  /** Index of the member whose peer port gets the bytes. */
  readonly member: number;
  readonly bytes: Buffer;
}

const NETWORK_TYPES = Object.values(MessageType).filter(
  (v): v is MessageType => typeof v === 'number' && v >= MessageType.Append && v <= MessageType.ForwardReject,
);

export class PeerInputs {
  private readonly codec = new MessageCodec();

  constructor(
    private readonly rng: Rng,
    private readonly view: PeerView,
  ) {}

  next(): PeerInput {
    const rng = this.rng;
    const member = rng.int(this.view.memberIds.length);
    const to = this.view.memberIds[member];
    const from =
      this.view.memberIds[
        (member + 1 + rng.int(this.view.memberIds.length - 1)) % this.view.memberIds.length
      ];
    const hello = this.hello(from, to);
    const cases: [string, () => Buffer][] = [
      ['garbage', () => rng.bytes(1 + rng.int(256))],
      ['mutated hello', () => mutate(hello, rng)],
      [
        'wrong cluster id',
        () => this.hello(from, to, { clusterId: this.view.clusterId ^ (1n + BigInt(rng.int(1000))) }),
      ],
      ['wrong member id', () => this.hello(from, to ^ (1n + BigInt(rng.int(1000))))],
      ['claims the member own id', () => this.hello(to, to)],
      [
        'wrong protocol version',
        () => this.hello(from, to, { protocolVersion: PROTOCOL_VERSION + 1 + rng.int(5) }),
      ],
      ['discovery probe', () => this.hello(0n, 0n, { clusterId: 0n })],
      ['garbage after hello', () => Buffer.concat([hello, rng.bytes(1 + rng.int(256))])],
      [
        'oversized frame after hello',
        () => Buffer.concat([hello, Buffer.from([0xff, 0xff, 0xff, 0xff, FrameType.Message])]),
      ],
      [
        'truncated message after hello',
        () => Buffer.concat([hello, this.staleFrame(from, to).subarray(0, 1 + rng.int(20))]),
      ],
      [
        'wrong frame type after hello',
        () =>
          Buffer.concat([
            hello,
            encodeFrame(
              rng.pick([
                FrameType.Hello,
                FrameType.HelloAccept,
                FrameType.ClusterInfo,
                0,
                9,
                255,
              ] as FrameType[]),
              rng.bytes(rng.int(16)),
            ),
          ]),
      ],
      [
        'snapshot chunk without begin',
        () => Buffer.concat([hello, encodeFrame(FrameType.SnapshotChunk, rng.bytes(64))]),
      ],
      ['huge snapshot announced', () => Buffer.concat([hello, this.snapshotBegin(from, to, 2 ** 40)])],
      [
        'snapshot announced, never sent',
        () => Buffer.concat([hello, this.snapshotBegin(from, to, 1 + rng.int(4096))]),
      ],
      [
        'replayed stale messages',
        () =>
          Buffer.concat([hello, ...Array.from({ length: 1 + rng.int(8) }, () => this.staleFrame(from, to))]),
      ],
      ['mutated stale message', () => Buffer.concat([hello, this.mutatedStaleFrame(from, to)])],
      ['message for another member', () => Buffer.concat([hello, this.staleFrame(from, from)])],
    ];
    const [label, build] = rng.pick(cases);
    return { label, member, bytes: build() };
  }

  private hello(
    fromId: bigint,
    toId: bigint,
    overrides: { clusterId?: bigint; protocolVersion?: number } = {},
  ): Buffer {
    return Buffer.from(
      encodeHelloFrame(this.codec, {
        protocolVersion: overrides.protocolVersion ?? PROTOCOL_VERSION,
        clusterId: overrides.clusterId ?? this.view.clusterId,
        fromId,
        toId,
      }),
    );
  }

  private staleMessage(from: bigint, to: bigint): Message {
    const rng = this.rng;
    const term = 1 + rng.int(this.view.staleBelowTerm - 1);
    return message({
      type: rng.pick(NETWORK_TYPES),
      from,
      to,
      term,
      logTerm: rng.int(term + 1),
      index: rng.int(1000),
      commit: rng.int(1000),
      reject: rng.int(2) === 0,
      rejectHint: rng.int(1000),
      entries: Array.from({ length: rng.int(4) }, (_, i) => ({
        term,
        index: 1 + i + rng.int(1000),
        type: EntryType.Normal,
        data: rng.bytes(rng.int(64)),
      })),
      context: rng.bytes(rng.int(8)),
    });
  }

  private staleFrame(from: bigint, to: bigint): Buffer {
    return Buffer.from(encodeFrame(FrameType.Message, this.codec.encodeMessage(this.staleMessage(from, to))));
  }

  /** A stale message mutated; if the mutation still decodes, it must still be stale (file comment). */
  private mutatedStaleFrame(from: bigint, to: bigint): Buffer {
    const payload = Buffer.from(this.codec.encodeMessage(this.staleMessage(from, to)));
    const mutated = mutate(payload, this.rng);
    if (!this.decodesToLiveTerm(mutated)) return Buffer.from(encodeFrame(FrameType.Message, mutated));
    return Buffer.from(encodeFrame(FrameType.Message, payload));
  }

  private decodesToLiveTerm(payload: Buffer): boolean {
    let decoded: Message;
    try {
      decoded = this.codec.decodeMessage(payload);
    } catch {
      return false; // undecodable: the member must refuse it, which is what we want to send
    }
    return decoded.term === 0 || decoded.term >= this.view.staleBelowTerm;
  }

  private snapshotBegin(from: bigint, to: bigint, dataBytes: number): Buffer {
    const value = [
      [
        MessageType.Snapshot,
        0,
        from,
        to,
        1,
        0,
        0,
        [],
        0,
        false,
        0,
        [1, 1, [from, to], [], new Uint8Array(0)],
        new Uint8Array(0),
      ],
      dataBytes,
    ];
    return Buffer.from(encodeFrame(FrameType.SnapshotBegin, this.codec.encodeValue(value)));
  }
}
