// Plain request/response types of the MVCC state machine. They mirror etcd's protobuf messages
// (etcdserverpb / mvccpb) field for field so the gRPC layer can map them one to one.
// Revisions and versions are `number` (a store cannot reach 2^53 revisions); lease ids are int64
// on the wire and therefore `bigint`.

export interface KeyValue {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  /** 0n when the key has no lease. */
  readonly lease: bigint;
}

export interface ResponseHeader {
  readonly revision: number;
}

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];

export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

export interface RangeRequest {
  readonly key: Uint8Array;
  /** Empty or absent: the single key. A single 0 byte: every key >= key. Otherwise [key, rangeEnd). */
  readonly rangeEnd?: Uint8Array;
  readonly limit?: number;
  /** <= 0 or absent: the current revision. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Accepted and ignored: the state machine always reads its local state. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: KeyValue[];
  readonly more: boolean;
  readonly count: number;
}

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: bigint;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly header: ResponseHeader;
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  /** Filled only when the request asked for prev_kv. */
  readonly prevKvs: KeyValue[];
}

export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

/**
 * A txn guard. Only the field matching `target` is read (etcd's target_union); a missing one
 * counts as 0 / empty, as a missing oneof does in etcd.
 */
export interface Compare {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly target: CompareTarget;
  readonly result: CompareResult;
  readonly version?: number;
  readonly createRevision?: number;
  readonly modRevision?: number;
  readonly value?: Uint8Array;
  readonly lease?: bigint;
}

export type RequestOp =
  | { readonly type: 'range'; readonly range: RangeRequest }
  | { readonly type: 'put'; readonly put: PutRequest }
  | { readonly type: 'deleteRange'; readonly deleteRange: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly txn: TxnRequest };

export type ResponseOp =
  | { readonly type: 'range'; readonly range: RangeResponse }
  | { readonly type: 'put'; readonly put: PutResponse }
  | { readonly type: 'deleteRange'; readonly deleteRange: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly txn: TxnResponse };

export interface TxnRequest {
  readonly compare?: readonly Compare[];
  readonly success?: readonly RequestOp[];
  readonly failure?: readonly RequestOp[];
}

export interface TxnResponse {
  /** Nested txn responses carry revision 0, as in etcd (only the top-level header is filled). */
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: ResponseOp[];
}

export interface CompactionRequest {
  readonly revision: number;
}

export interface CompactionResponse {
  readonly header: ResponseHeader;
}

export interface LeaseRevokeResponse {
  readonly header: ResponseHeader;
  /** The keys deleted because they were attached to the revoked lease. */
  readonly deleted: number;
}

/** One row of the lease table (etcd's leasepb.Lease). */
export interface LeaseRecord {
  readonly id: bigint;
  /** The TTL granted (after the lessor raised it to its minimum). */
  readonly ttlSeconds: number;
  /** The remaining TTL at the last checkpoint; 0 when never checkpointed or cleared by a renewal. */
  readonly remainingTtlSeconds: number;
}

export interface LeaseGrantRequest {
  /** Never 0: the proposer picks the id before proposing so every replica applies the same one. */
  readonly id: bigint;
  readonly ttlSeconds: number;
}

export interface LeaseGrantResponse {
  readonly header: ResponseHeader;
  readonly id: bigint;
  readonly ttlSeconds: number;
}

export interface LeaseCheckpoint {
  readonly id: bigint;
  readonly remainingTtlSeconds: number;
}

export interface LeaseCheckpointRequest {
  readonly checkpoints: readonly LeaseCheckpoint[];
}

export interface LeaseCheckpointResponse {
  readonly header: ResponseHeader;
}

export interface HashKVResponse {
  readonly header: ResponseHeader;
  /** CRC32-Castagnoli over the key-value history up to the requested revision. */
  readonly hash: number;
  /** -1 when the store has never been compacted (as etcd reports). */
  readonly compactRevision: number;
}

export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/**
 * One change. For DELETE, `kv` holds only the key and the deleting mod revision, as etcd's
 * watch events do. `prevKv` is filled for events produced by apply; events replayed from
 * history (changesSince) leave it out — the watch layer reads it at modRevision - 1.
 */
export interface MvccEvent {
  readonly type: EventType;
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

/** What one Raft entry asks the state machine to do. */
export type ApplyRequest =
  | { readonly type: 'put'; readonly put: PutRequest }
  | { readonly type: 'deleteRange'; readonly deleteRange: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly txn: TxnRequest }
  | { readonly type: 'compact'; readonly compact: CompactionRequest }
  /** Adds a lease to the lease table. */
  | { readonly type: 'leaseGrant'; readonly leaseGrant: LeaseGrantRequest }
  /** Deletes every key attached to the lease in one revision, and the lease record (the lessor's revoke). */
  | { readonly type: 'leaseRevoke'; readonly leaseId: bigint }
  /** Persists the leader's remaining TTLs so a new leader does not restart them from the full TTL. */
  | { readonly type: 'leaseCheckpoint'; readonly leaseCheckpoint: LeaseCheckpointRequest }
  /** An entry with no effect on the key space (empty entry, conf change): only advances the index. */
  | { readonly type: 'noop' };

export type ApplyResponse =
  | { readonly type: 'put'; readonly put: PutResponse }
  | { readonly type: 'deleteRange'; readonly deleteRange: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly txn: TxnResponse }
  | { readonly type: 'compact'; readonly compact: CompactionResponse }
  | { readonly type: 'leaseGrant'; readonly leaseGrant: LeaseGrantResponse }
  | { readonly type: 'leaseRevoke'; readonly leaseRevoke: LeaseRevokeResponse }
  | { readonly type: 'leaseCheckpoint'; readonly leaseCheckpoint: LeaseCheckpointResponse }
  | { readonly type: 'noop'; readonly header: ResponseHeader };

export interface ApplyEntry {
  /** The Raft log index of the entry. */
  readonly index: number;
  readonly request: ApplyRequest;
}

/** Lets the apply layer reject puts that name a lease the lessor does not hold. */
export interface LeaseChecker {
  leaseExists(leaseId: bigint): boolean;
}
