// What goes into a Raft entry. Client writes become `Proposal`s: the MVCC apply request plus
// the id of the request and of the member that is waiting for its result. Encoded with msgpackr
// (binary keys and values stay binary, lease ids stay exact 64-bit integers).

import { Packr } from 'msgpackr';
import type { ApplyRequest } from '../mvcc/types.js';
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
  | { readonly type: 'memberUpdate'; readonly id: bigint; readonly peerUrls: readonly string[] };

export interface Proposal {
  /** Unique per origin member for its lifetime. */
  readonly requestId: number;
  /** The member whose client is waiting for the result. */
  readonly origin: NodeId;
  readonly request: ServerRequest;
  /** W3C trace context of the request, only when tracing is on (absent otherwise: no cost). */
  readonly traceparent?: string;
}

const packr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });

export function encodeProposal(proposal: Proposal): Uint8Array {
  return packr.pack(proposal);
}

export function decodeProposal(data: Uint8Array): Proposal {
  return packr.unpack(data) as Proposal;
}
