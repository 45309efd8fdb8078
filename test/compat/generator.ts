// Seeded generator of etcd v3 request sequences for the differential test. Keys come from a small
// space so that operations collide (overwrites, deletes of live keys, txn conflicts, prefix overlaps),
// and a share of requests is invalid on purpose, because error codes and messages must match too.
//
// The generator is adaptive: before each op it is told the reference endpoint's (A's, always real
// etcd) current store revision, so it can aim revisions at "past", "current", "future" and
// "compacted". Given the same seed and the same reference answers the sequence is identical, and
// since the reference is etcd the sequence for a seed is stable.

import {
  type CompactionRequest,
  type Compare,
  CompareResult,
  CompareTarget,
  type DeleteRangeRequest,
  type HashKVRequest,
  type LeaseGrantRequest,
  type LeaseRevokeRequest,
  type LeaseTimeToLiveRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  SortOrder,
  SortTarget,
  type TxnRequest,
  type WatchCreateRequest,
  WatchFilter,
} from '../support/etcd-types.js';
import { Random } from './random.js';

export type Op =
  | { kind: 'range'; request: RangeRequest }
  | { kind: 'put'; request: PutRequest }
  | { kind: 'deleteRange'; request: DeleteRangeRequest }
  | { kind: 'txn'; request: TxnRequest }
  | { kind: 'compact'; request: CompactionRequest }
  | { kind: 'leaseGrant'; request: LeaseGrantRequest }
  | { kind: 'leaseRevoke'; request: LeaseRevokeRequest }
  | { kind: 'leaseTimeToLive'; request: LeaseTimeToLiveRequest }
  | { kind: 'leaseLeases' }
  | { kind: 'hashKV'; request: HashKVRequest }
  /**
   * Create a watcher, then Put `marker` (a key inside the watched range) and collect events until the
   * marker's event arrives, the watcher is cancelled, or a bounded wait ends. The marker gives the
   * collection a well-defined end without relying on how a server batches catch-up events.
   */
  | { kind: 'watch'; create: WatchCreateRequest; marker: PutRequest };

export type OpKind = Op['kind'];

export interface GeneratorContext {
  /** The reference endpoint's current store revision (header.revision of its latest answer). */
  readonly revision: number;
}

/**
 * The key space: few keys, with shared prefixes ('a', 'a/'), bytes above 0x7f and a key made only
 * of 0xff bytes (whose prefix range end is "\0"). At most 12 keys — see README.md, "Sort ties".
 */
export const KEYS: readonly string[] = [
  'a',
  'a/1',
  'a/2',
  'ab',
  'b',
  'b/x',
  'c',
  'k\xff',
  'k\xff\xff',
  '\xff\xff',
];
const PREFIXES: readonly string[] = ['a', 'a/', 'b', 'k', 'k\xff', '\xff', 'zz'];
const VALUES: readonly string[] = ['', 'v1', 'v2', 'v3', 'v1', 'longer value with spaces', '\x00bin\xff'];

/** Lease TTLs far beyond a run's length, so no lease expires mid-run (expiry timing is not comparable). */
const LEASE_TTLS_S: readonly number[] = [600, 900, 3600];
/** Client-chosen lease IDs, incl. ones above 2^53 to catch precision loss. ID 0 (server-chosen) is
 * never used: etcd picks a random ID, which two servers cannot agree on. */
const LEASE_IDS: readonly string[] = ['1', '2', '3', '42', '9007199254740993', '9223372036854775807'];
/** etcd's default --max-txn-ops. */
export const MAX_TXN_OPS = 128;
/** etcd's MaxLeaseTTL (lease/lessor.go): larger TTLs fail with "too large lease TTL". */
const MAX_LEASE_TTL_S = 9_000_000_000;

const OP_WEIGHTS = {
  put: 24,
  range: 20,
  deleteRange: 7,
  txn: 17,
  compact: 4,
  leaseGrant: 5,
  leaseRevoke: 3,
  leaseTimeToLive: 4,
  leaseLeases: 2,
  watch: 7,
  hashKV: 1,
  invalid: 6,
} as const;

export const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** etcd's prefix range end: drop trailing 0xff bytes, increment the last; all-0xff gives "\0". */
export function prefixEnd(prefix: Buffer): Buffer {
  for (let index = prefix.length - 1; index >= 0; index--) {
    if (prefix[index]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, index + 1));
      end[index] = end[index]! + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

interface KeyRange {
  key: Buffer;
  range_end?: Buffer;
}

export class OpGenerator {
  private readonly random: Random;
  /** Highest revision this generator has asked to compact (an estimate: the request may have failed). */
  private compactedRevision = 0;

  constructor(readonly seed: number) {
    this.random = new Random(seed);
  }

  next(context: GeneratorContext): Op {
    const kind = this.random.weighted(OP_WEIGHTS);
    switch (kind) {
      case 'put':
        return { kind, request: this.put(context) };
      case 'range':
        return { kind, request: this.range(context) };
      case 'deleteRange':
        return { kind, request: this.deleteRange() };
      case 'txn':
        return { kind, request: this.txn(context, 0) };
      case 'compact':
        return { kind, request: this.compact(context) };
      case 'leaseGrant':
        return { kind, request: { ID: this.leaseId(), TTL: String(this.random.pick(LEASE_TTLS_S)) } };
      case 'leaseRevoke':
        return { kind, request: { ID: this.leaseId() } };
      case 'leaseTimeToLive':
        return { kind, request: { ID: this.leaseId(), keys: this.random.chance(0.8) } };
      case 'leaseLeases':
        return { kind };
      case 'watch':
        return this.watch(context);
      case 'hashKV':
        return {
          kind,
          request: { revision: String(this.random.chance(0.5) ? 0 : this.pastRevision(context)) },
        };
      case 'invalid':
        return this.invalid(context);
    }
  }

  private key(): Buffer {
    return bytes(this.random.pick(KEYS));
  }

  private value(): Buffer {
    return bytes(this.random.pick(VALUES));
  }

  private leaseId(): string {
    return this.random.pick(LEASE_IDS);
  }

  /** One of the ways etcd reads a key range, valid or (rarely) inverted. */
  private keyRange(): KeyRange {
    switch (
      this.random.weighted({
        single: 40,
        span: 20,
        prefix: 20,
        fromKey: 10,
        all: 6,
        inverted: 4,
        emptyEnd: 4,
      })
    ) {
      case 'single':
        return { key: this.key() };
      case 'emptyEnd':
        // A range_end that is present on the wire but empty. etcd 3.4 reads it as "all keys >= key",
        // unlike an absent range_end (single key): see README.md.
        return { key: this.key(), range_end: Buffer.alloc(0) };
      case 'span': {
        const [low, high] = [this.key(), this.key()].sort(Buffer.compare);
        return { key: low!, range_end: high! };
      }
      case 'prefix': {
        const prefix = bytes(this.random.pick(PREFIXES));
        return { key: prefix, range_end: prefixEnd(prefix) };
      }
      case 'fromKey':
        return { key: this.key(), range_end: Buffer.from([0]) };
      case 'all':
        return { key: Buffer.from([0]), range_end: Buffer.from([0]) };
      case 'inverted': {
        const [low, high] = [this.key(), this.key()].sort(Buffer.compare);
        return { key: high!, range_end: low! };
      }
    }
  }

  private pastRevision(context: GeneratorContext): number {
    return this.random.between(Math.min(this.compactedRevision + 1, context.revision), context.revision);
  }

  /** A read revision: mostly latest, sometimes past, future, compacted or negative. */
  private readRevision(context: GeneratorContext): number {
    switch (this.random.weighted({ latest: 55, past: 25, future: 7, compacted: 8, negative: 5 })) {
      case 'latest':
        return 0;
      case 'past':
        return this.pastRevision(context);
      case 'future':
        return context.revision + this.random.between(1, 3);
      case 'compacted':
        return this.compactedRevision > 0 ? this.random.between(1, this.compactedRevision) : 0;
      case 'negative':
        return -this.random.between(1, 5);
    }
  }

  private range(context: GeneratorContext): RangeRequest {
    const request: RangeRequest = { ...this.keyRange() };
    const revision = this.readRevision(context);
    if (revision !== 0) request.revision = String(revision);
    if (this.random.chance(0.3)) request.limit = String(this.random.between(1, 4));
    if (this.random.chance(0.3)) {
      request.sort_order = this.random.pick(Object.values(SortOrder));
      request.sort_target = this.random.pick(Object.values(SortTarget));
    }
    if (this.random.chance(0.15)) request.keys_only = true;
    if (this.random.chance(0.12)) request.count_only = true;
    if (this.random.chance(0.1)) request.serializable = true;
    const top = Math.max(context.revision, 1);
    if (this.random.chance(0.1)) request.min_mod_revision = String(this.random.between(1, top));
    if (this.random.chance(0.1)) request.max_mod_revision = String(this.random.between(1, top));
    if (this.random.chance(0.1)) request.min_create_revision = String(this.random.between(1, top));
    if (this.random.chance(0.1)) request.max_create_revision = String(this.random.between(1, top));
    return request;
  }

  private put(_context: GeneratorContext): PutRequest {
    const request: PutRequest = { key: this.key(), value: this.value() };
    if (this.random.chance(0.4)) request.prev_kv = true;
    if (this.random.chance(0.2)) request.lease = this.leaseId();
    if (this.random.chance(0.07)) {
      request.ignore_value = true;
      // etcd rejects a value together with ignore_value; send one now and then.
      if (this.random.chance(0.8)) request.value = Buffer.alloc(0);
    }
    if (this.random.chance(0.07)) {
      request.ignore_lease = true;
      // Likewise a lease together with ignore_lease.
      if (this.random.chance(0.8)) delete request.lease;
    }
    return request;
  }

  private deleteRange(): DeleteRangeRequest {
    const request: DeleteRangeRequest = { ...this.keyRange() };
    if (this.random.chance(0.5)) request.prev_kv = true;
    return request;
  }

  private compare(context: GeneratorContext): Compare {
    const target = this.random.pick(Object.values(CompareTarget));
    const compare: Compare = {
      result: this.random.pick(Object.values(CompareResult)),
      target,
      key: this.key(),
    };
    if (this.random.chance(0.2)) {
      const range = this.keyRange();
      compare.key = range.key;
      if (range.range_end) compare.range_end = range.range_end;
    }
    const revision = String(this.random.between(0, context.revision + 1));
    switch (target) {
      case CompareTarget.Version:
        compare.version = String(this.random.between(0, 4));
        break;
      case CompareTarget.Create:
        compare.create_revision = revision;
        break;
      case CompareTarget.Mod:
        compare.mod_revision = revision;
        break;
      case CompareTarget.Value:
        compare.value = this.value();
        break;
      case CompareTarget.Lease:
        compare.lease = this.random.chance(0.3) ? '0' : this.leaseId();
        break;
    }
    return compare;
  }

  /** A txn op list; `distinctKeys` avoids (most) duplicate-key errors so that txns usually apply. */
  private requestOps(context: GeneratorContext, depth: number): RequestOp[] {
    const count = this.random.between(0, 4);
    const ops: RequestOp[] = [];
    const distinctKeys = this.random.chance(0.8);
    const written = new Set<string>();
    for (let index = 0; index < count; index++) {
      const kind = this.random.weighted({ range: 35, put: 35, deleteRange: 18, txn: depth < 2 ? 12 : 0 });
      switch (kind) {
        case 'range':
          ops.push({ request_range: this.range(context) });
          break;
        case 'put': {
          const put = this.put(context);
          if (distinctKeys && written.has(put.key.toString('latin1'))) break;
          written.add(put.key.toString('latin1'));
          ops.push({ request_put: put });
          break;
        }
        case 'deleteRange': {
          // A single-key delete only, when avoiding duplicates: ranges would overlap the puts.
          const request = distinctKeys
            ? { key: this.key(), prev_kv: this.random.chance(0.5) }
            : this.deleteRange();
          if (distinctKeys && written.has(request.key.toString('latin1'))) break;
          written.add(request.key.toString('latin1'));
          ops.push({ request_delete_range: request });
          break;
        }
        case 'txn':
          ops.push({ request_txn: this.txn(context, depth + 1) });
          break;
      }
    }
    return ops;
  }

  private txn(context: GeneratorContext, depth: number): TxnRequest {
    const compares: Compare[] = [];
    const compareCount = this.random.between(0, 3);
    for (let index = 0; index < compareCount; index++) compares.push(this.compare(context));
    return {
      compare: compares,
      success: this.requestOps(context, depth),
      failure: this.requestOps(context, depth),
    };
  }

  private compact(context: GeneratorContext): CompactionRequest {
    let revision: number;
    switch (this.random.weighted({ valid: 70, future: 15, again: 15 })) {
      case 'valid':
        revision = this.random.between(
          Math.min(this.compactedRevision + 1, context.revision),
          context.revision,
        );
        break;
      case 'future':
        revision = context.revision + this.random.between(1, 5);
        break;
      case 'again':
        revision = this.random.between(0, Math.max(this.compactedRevision, 1));
        break;
    }
    if (revision <= context.revision) this.compactedRevision = Math.max(this.compactedRevision, revision);
    // physical: the answer waits until compaction has finished, so later HashKV calls see a settled
    // store on both servers (etcd finishes physical compaction asynchronously otherwise).
    return { revision: String(revision), physical: true };
  }

  private watch(context: GeneratorContext): Op {
    let range: KeyRange;
    let marker: Buffer;
    switch (this.random.weighted({ single: 35, prefix: 30, span: 15, fromKey: 20, emptyEnd: 5 })) {
      case 'single':
        range = { key: this.key() };
        marker = range.key;
        break;
      case 'emptyEnd':
        range = { key: this.key(), range_end: Buffer.alloc(0) };
        marker = range.key;
        break;
      case 'prefix': {
        const prefix = bytes(this.random.pick(PREFIXES));
        range = { key: prefix, range_end: prefixEnd(prefix) };
        marker = prefix;
        break;
      }
      case 'span': {
        const [low, high] = [this.key(), this.key()].sort(Buffer.compare);
        range = Buffer.compare(low!, high!) === 0 ? { key: low! } : { key: low!, range_end: high! };
        marker = low!;
        break;
      }
      case 'fromKey':
        range = { key: this.key(), range_end: Buffer.from([0]) };
        marker = range.key;
        break;
    }
    const create: WatchCreateRequest = { ...range };
    // The marker is written at revision+1, so every start revision here is reached.
    switch (this.random.weighted({ now: 15, past: 55, compacted: 15, next: 15 })) {
      case 'now':
        break;
      case 'past':
        create.start_revision = String(this.pastRevision(context));
        break;
      case 'compacted':
        if (this.compactedRevision > 0)
          create.start_revision = String(this.random.between(1, this.compactedRevision));
        break;
      case 'next':
        create.start_revision = String(context.revision + 1);
        break;
    }
    if (this.random.chance(0.5)) create.prev_kv = true;
    // Only NoDelete: a NoPut filter would hide the marker put that ends the collection.
    if (this.random.chance(0.15)) create.filters = [WatchFilter.NoDelete];
    return { kind: 'watch', create, marker: { key: marker, value: this.value() } };
  }

  private invalid(context: GeneratorContext): Op {
    switch (
      this.random.weighted({
        emptyPutKey: 2,
        emptyRangeKey: 2,
        emptyDeleteKey: 1,
        tooManyTxnOps: 1,
        duplicateTxnPut: 2,
        putDeleteOverlap: 2,
        nestedDuplicate: 1,
        ignoreValueWithValue: 1,
        ignoreLeaseWithLease: 1,
        leaseTtlTooLarge: 1,
        unknownLease: 2,
        invertedRange: 2,
        emptyCompareKey: 1,
      })
    ) {
      case 'emptyPutKey':
        return { kind: 'put', request: { key: Buffer.alloc(0), value: this.value() } };
      case 'emptyRangeKey':
        return { kind: 'range', request: { key: Buffer.alloc(0) } };
      case 'emptyDeleteKey':
        return { kind: 'deleteRange', request: { key: Buffer.alloc(0) } };
      case 'tooManyTxnOps': {
        const ops: RequestOp[] = [];
        for (let index = 0; index <= MAX_TXN_OPS; index++) {
          ops.push({ request_range: { key: this.key() } });
        }
        return { kind: 'txn', request: this.random.chance(0.5) ? { success: ops } : { failure: ops } };
      }
      case 'duplicateTxnPut': {
        const key = this.key();
        return {
          kind: 'txn',
          request: { success: [{ request_put: { key, value: this.value() } }, { request_put: { key } }] },
        };
      }
      case 'putDeleteOverlap': {
        const key = this.key();
        const range = this.random.chance(0.5)
          ? { key }
          : { key: Buffer.from([0]), range_end: Buffer.from([0]) };
        return {
          kind: 'txn',
          request: {
            success: [{ request_delete_range: range }, { request_put: { key, value: this.value() } }],
          },
        };
      }
      case 'nestedDuplicate': {
        const key = this.key();
        return {
          kind: 'txn',
          request: {
            success: [{ request_put: { key } }, { request_txn: { success: [{ request_put: { key } }] } }],
          },
        };
      }
      case 'ignoreValueWithValue':
        return { kind: 'put', request: { key: this.key(), value: bytes('x'), ignore_value: true } };
      case 'ignoreLeaseWithLease':
        return { kind: 'put', request: { key: this.key(), lease: this.leaseId(), ignore_lease: true } };
      case 'leaseTtlTooLarge':
        return { kind: 'leaseGrant', request: { ID: this.leaseId(), TTL: String(MAX_LEASE_TTL_S + 1) } };
      case 'unknownLease':
        return { kind: 'put', request: { key: this.key(), value: this.value(), lease: '77' } };
      case 'invertedRange':
        return this.random.chance(0.5)
          ? { kind: 'range', request: { key: bytes('c'), range_end: bytes('a') } }
          : { kind: 'deleteRange', request: { key: bytes('c'), range_end: bytes('a'), prev_kv: true } };
      case 'emptyCompareKey':
        return {
          kind: 'txn',
          request: {
            compare: [
              {
                result: CompareResult.Equal,
                target: CompareTarget.Version,
                key: Buffer.alloc(0),
                version: '0',
              },
            ],
            success: [{ request_range: { key: this.key() } }],
          },
        };
    }
    // Unreachable: every weighted key returns above; keeps the checker satisfied about `context`.
    throw new Error(`invalid op generator fell through at revision ${context.revision}`);
  }
}
