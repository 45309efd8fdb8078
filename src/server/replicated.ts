// What goes into a Raft entry. Client writes become `Proposal`s: the MVCC apply request plus
// the id of the request and of the member that is waiting for its result. Encoded with msgpackr
// (binary keys and values stay binary, lease ids stay exact 64-bit integers).

import { Packr } from 'msgpackr';
import type { AuthOp } from '../auth/store.js';
import type { ApplyRequest, PutRequest } from '../mvcc/types.js';
import type { NodeId } from '../raft/types.js';

export type ServerRequest =
  | ApplyRequest
  /** A member announces the client URLs it serves (etcd publishes these through Raft too). */
  | {
      readonly type: 'publish';
      readonly name: string;
      readonly clientUrls: readonly string[];
      /** Where its /metrics and dashboard listen (absent from members before issue 7). */
      readonly metricsUrls?: readonly string[];
    }
  /** Maintenance.Alarm ACTIVATE (1) / DEACTIVATE (2); alarm 1 is NOSPACE, 2 CORRUPT. */
  | { readonly type: 'alarm'; readonly action: 1 | 2; readonly memberId: bigint; readonly alarm: number }
  /** MemberUpdate: new peer URLs for a member (no change to Raft membership). */
  | { readonly type: 'memberUpdate'; readonly id: bigint; readonly peerUrls: readonly string[] }
  /** A change to users, roles or the enabled flag, or an Authenticate issuing a token (src/auth). */
  | { readonly type: 'auth'; readonly op: AuthOp };

export interface Proposal {
  /** Unique per origin member for its lifetime. */
  readonly requestId: number;
  /** The member whose client is waiting for the result. */
  readonly origin: NodeId;
  readonly request: ServerRequest;
  /** W3C trace context of the request, only when tracing is on (absent otherwise: no cost). */
  readonly traceparent?: string;
  /**
   * The user a KV write acts for, present only when auth was enabled on receipt: applying the
   * entry checks its permissions again, against the auth state at that point of the log.
   */
  readonly caller?: string;
}

const packr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });

// Puts, the bulk of all entries, have a fixed binary layout: msgpack's generic encoding and
// decoding of the nested objects cost more CPU per put than the whole WAL append. The first byte
// tells the layouts apart: PUT_TAG, a msgpack map (0x80–0x8f, 0xde, 0xdf), or '{' (conf changes).
//   tag (u8), flags (u8), requestId (f64), origin (u64), lease (i64, when FLAG_LEASE),
//   key length (u32), key, value (the rest; absent when not FLAG_VALUE)
const PUT_TAG = 0x01;
const FLAG_VALUE = 1;
const FLAG_PREV_KV = 2;
const FLAG_IGNORE_VALUE = 4;
const FLAG_IGNORE_LEASE = 8;
const FLAG_LEASE = 16;
const PUT_FIXED_BYTES = 1 + 1 + 8 + 8 + 4;
const LEASE_BYTES = 8;

export function encodeProposal(proposal: Proposal): Uint8Array {
  // A traced put carries its traceparent, and an authenticated one its caller, which only the
  // generic encoding has room for.
  if (
    proposal.request.type === 'put' &&
    proposal.traceparent === undefined &&
    proposal.caller === undefined
  ) {
    return encodePut(proposal, proposal.request.put);
  }
  // msgpackr returns a view into its shared output buffer (hundreds of KiB, refilled until
  // full). An entry lives in the in-memory log until the next compaction, and a view would keep
  // the whole buffer alive with it: 1,000,000 keys loaded in 100-put txns left the leader holding
  // ~540 MiB of these buffers for ~300 MiB of entries. A copy costs one memcpy of the entry.
  return Uint8Array.prototype.slice.call(packr.pack(proposal));
}

export function decodeProposal(data: Uint8Array): Proposal {
  if (data[0] === PUT_TAG) return decodePut(data);
  return packr.unpack(data) as Proposal;
}

function encodePut(proposal: Proposal, put: PutRequest): Uint8Array {
  const lease = put.lease ?? 0n;
  const hasLease = lease !== 0n;
  const size = PUT_FIXED_BYTES + (hasLease ? LEASE_BYTES : 0) + put.key.length + (put.value?.length ?? 0);
  const out = Buffer.allocUnsafe(size);
  out[0] = PUT_TAG;
  out[1] =
    (put.value !== undefined ? FLAG_VALUE : 0) |
    (put.prevKv === true ? FLAG_PREV_KV : 0) |
    (put.ignoreValue === true ? FLAG_IGNORE_VALUE : 0) |
    (put.ignoreLease === true ? FLAG_IGNORE_LEASE : 0) |
    (hasLease ? FLAG_LEASE : 0);
  out.writeDoubleBE(proposal.requestId, 2);
  out.writeBigUInt64BE(proposal.origin, 10);
  let at = 18;
  if (hasLease) at = out.writeBigInt64BE(lease, at);
  at = out.writeUInt32BE(put.key.length, at);
  out.set(put.key, at);
  if (put.value !== undefined) out.set(put.value, at + put.key.length);
  return out;
}

function decodePut(data: Uint8Array): Proposal {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const flags = bytes[1];
  const requestId = bytes.readDoubleBE(2);
  const origin = bytes.readBigUInt64BE(10);
  let at = 18;
  let lease: bigint | undefined;
  if (flags & FLAG_LEASE) {
    lease = bytes.readBigInt64BE(at);
    at += LEASE_BYTES;
  }
  const keyLength = bytes.readUInt32BE(at);
  at += 4;
  const put: PutRequest = {
    key: bytes.subarray(at, at + keyLength),
    value: flags & FLAG_VALUE ? bytes.subarray(at + keyLength) : undefined,
    lease: lease ?? 0n,
    prevKv: (flags & FLAG_PREV_KV) !== 0,
    ignoreValue: (flags & FLAG_IGNORE_VALUE) !== 0,
    ignoreLease: (flags & FLAG_IGNORE_LEASE) !== 0,
  };
  return { requestId, origin, request: { type: 'put', put } };
}
