// The MVCC key-value state machine: etcd 3.4 semantics (revisions, Range, Put, DeleteRange,
// Txn, Compact, HashKV) on LMDB. The Raft log is applied to it entry by entry.
//
// Storage layout: one LMDB environment per store (one directory per Raft group), sub-databases
// with raw byte keys and values:
//   meta    "state" -> current revision, compact revision + 1, applied index (3 x u64 BE)
//   latest  user key -> record of the key's live revision (absent once deleted)
//   rev     main rev (u64 BE) ++ sub rev (u64 BE) -> record; every put and tombstone ever kept
//   hist    escape(user key) ++ 0x00 0x01 ++ main ++ sub -> 1 byte (1 = tombstone): per-key history
//   lease   lease id (i64 BE) ++ user key -> 1 byte: the keys attached to each lease
//   leaseRecords  lease id (i64 BE) -> granted TTL, checkpointed remaining TTL (leases.ts)
// Records are codec.ts's fixed layout. `latest` makes current-revision reads one lookup per key;
// `hist` plays etcd's in-memory keyIndex for reads at past revisions and for compaction; `rev`
// is etcd's "key" bucket, in revision order, for watch replay and HashKV.
//
// Durability contract: every apply writes the Raft entry index into `meta` in the same LMDB
// transaction as the state it produced, and entries at or below the stored applied index are
// skipped, so replaying the WAL after a crash is idempotent. LMDB commits need not fsync
// (sync: 'lazy', the default) because the WAL is the source of durability.
//
// Inputs (keys, values) are kept by reference in responses and events: callers must not mutate
// them afterwards.

import { assert } from '../raft/assert.js';
import { applyDeleteRange, applyPut, applyRange, checkPutLease } from './apply.js';
import { checkCompact, compactHistory } from './compact.js';
import { LeaseNotFoundError, MvccError } from './errors.js';
import { hashKV } from './hash.js';
import { type ChangesResult, changesSince } from './history.js';
import { keyRange, LEASE_ID_BYTES, leasePrefix } from './keys.js';
import { applyLeaseCheckpoint, applyLeaseGrant, getLease, listLeases, removeLease } from './leases.js';
import { getAt } from './read.js';
import { type RecordVisitor, visitLatest } from './record-visit.js';
import { DEFAULT_SNAPSHOT_CHUNK_BYTES, restoreTables, snapshotChunks } from './snapshot.js';
import { type MetaState, maxKeyBytes, openTables, readMeta, type Tables, writeMeta } from './tables.js';
import { applyTxn, isTxnReadOnly } from './txn.js';
import type {
  ApplyEntry,
  ApplyRequest,
  ApplyResponse,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  HashKVResponse,
  KeyValue,
  LeaseChecker,
  LeaseRecord,
  MvccEvent,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from './types.js';
import { SortOrder, SortTarget } from './types.js';
import {
  checkDeleteRequest,
  checkPutRequest,
  checkRangeRequest,
  checkTxn,
  DEFAULT_MAX_TXN_OPS,
  type ValidationLimits,
} from './validate.js';
import { WriteTxn } from './write.js';

export interface MvccStoreOptions {
  /** Directory of the LMDB environment (created if missing). */
  readonly path: string;
  /** 'lazy' (default): commits skip fsync, the Raft WAL gives durability. 'durable': fsync each commit. */
  readonly sync?: 'lazy' | 'durable';
  /**
   * How puts that attach a lease are checked. 'table' (default, etcd's rule): the lease must be
   * in the lease table, else "requested lease not found"; a revoke of an unknown lease fails the
   * same way. 'off': every lease id is accepted and revoking an unknown lease just deletes its
   * keys — for tests and tools that exercise the key space without granting leases.
   */
  readonly leaseChecks?: 'table' | 'off';
  /** Overrides the lease check of puts (takes precedence over `leaseChecks`). */
  readonly leases?: LeaseChecker;
  readonly maxTxnOps?: number;
  readonly mapSizeBytes?: number;
}

export type ApplyResult =
  /** The entry's index was at or below the applied index: already applied, nothing done. */
  | { readonly status: 'skipped' }
  | { readonly status: 'applied'; readonly response: ApplyResponse; readonly events: readonly MvccEvent[] }
  /** The request was refused (the key space is unchanged; the applied index still advanced). */
  | { readonly status: 'failed'; readonly error: MvccError };

const SKIPPED: ApplyResult = { status: 'skipped' };
const NO_EVENTS: readonly MvccEvent[] = [];

export class MvccStore {
  private meta: MetaState;
  private readonly limits: ValidationLimits;

  private constructor(
    private readonly tables: Tables,
    private readonly leases: LeaseChecker | undefined,
    private readonly leaseTableChecked: boolean,
    maxTxnOps: number,
  ) {
    this.meta = readMeta(tables);
    this.limits = { maxTxnOps, maxKeyBytes: maxKeyBytes(tables) };
  }

  static open(options: MvccStoreOptions): MvccStore {
    const tables = openTables({
      path: options.path,
      noSync: (options.sync ?? 'lazy') === 'lazy',
      ...(options.mapSizeBytes === undefined ? {} : { mapSizeBytes: options.mapSizeBytes }),
    });
    const leaseTableChecked = (options.leaseChecks ?? 'table') === 'table';
    // The table checker reads inside the apply transaction, so a grant earlier in the same
    // batch is visible to a put after it.
    const tableChecker: LeaseChecker = { leaseExists: (id) => getLease(tables, id) !== undefined };
    const leases = options.leases ?? (leaseTableChecked ? tableChecker : undefined);
    return new MvccStore(tables, leases, leaseTableChecked, options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS);
  }

  async close(): Promise<void> {
    await this.tables.root.close();
  }

  /**
   * Forces every committed LMDB transaction to disk (mdb_env_sync on a worker thread). The store
   * commits without syncing (the WAL is the durable record); a member calls this before it drops
   * the log below its applied index, as etcd commits its backend before a Raft snapshot.
   */
  syncToDisk(): Promise<void> {
    const root = this.tables.root as unknown as { sync(callback: (error?: Error) => void): void };
    return new Promise((resolve, reject) => root.sync((error) => (error ? reject(error) : resolve())));
  }

  /**
   * Bytes of LMDB pages holding data now (etcd's dbSizeInUse): pages freed by compaction are
   * reused by LMDB, so unlike the file size this shrinks after a compaction.
   */
  sizeInUseBytes(): number {
    const t = this.tables;
    let pages = 0;
    let pageSize = 4096;
    for (const db of [t.root, t.meta, t.latest, t.rev, t.hist, t.lease, t.leaseRecords]) {
      const stats = db.getStats() as {
        pageSize: number;
        treeBranchPageCount: number;
        treeLeafPageCount: number;
        overflowPages: number;
      };
      pageSize = stats.pageSize;
      pages += stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages;
    }
    return pages * pageSize;
  }

  appliedIndex(): number {
    return this.meta.appliedIndex;
  }

  currentRevision(): number {
    return this.meta.currentRevision;
  }

  /** -1 until the first compaction. */
  compactRevision(): number {
    return this.meta.compactRevision;
  }

  // --- reads: local state, no Raft index --------------------------------------------------------

  range(r: RangeRequest): RangeResponse {
    checkRangeRequest(r, this.limits);
    return applyRange(this.readView(), r);
  }

  /**
   * Range's fast path for the common request (the current revision; no sort, filter, keys-only
   * or count-only): each matching record goes to `visit` as stored (codec.ts layout, valid only
   * during the call) instead of becoming an object. Returns null, having visited nothing, for any
   * other request: those go through range(), which also raises their errors.
   */
  visitRange(
    r: RangeRequest,
    visit: RecordVisitor,
  ): { revision: number; more: boolean; count: number } | null {
    checkRangeRequest(r, this.limits);
    const current = this.meta.currentRevision;
    const revision = r.revision ?? 0;
    const plain =
      (revision <= 0 || revision === current) &&
      (r.sortOrder ?? SortOrder.NONE) === SortOrder.NONE &&
      (r.sortTarget ?? SortTarget.KEY) === SortTarget.KEY &&
      r.keysOnly !== true &&
      r.countOnly !== true &&
      (r.minModRevision ?? 0) === 0 &&
      (r.maxModRevision ?? 0) === 0 &&
      (r.minCreateRevision ?? 0) === 0 &&
      (r.maxCreateRevision ?? 0) === 0;
    if (!plain) return null;
    const limit = Math.max(0, r.limit ?? 0);
    const { count } = visitLatest(this.tables, keyRange(r.key, r.rangeEnd), limit, visit);
    // etcd 3.4 fetches limit + 1 to learn `more`: there is more exactly when count > limit.
    return { revision: current, more: limit > 0 && count > limit, count };
  }

  /** A txn whose branches hold only ranges, answered from local state (serializable). */
  readTxn(r: TxnRequest): TxnResponse {
    assert(isTxnReadOnly(r), 'readTxn needs a read-only txn');
    checkTxn(r, this.limits);
    return applyTxn(this.txnContext(), new WriteTxn(this.tables, this.meta.currentRevision), r);
  }

  /** The key-value of `key` as of `revision` (for a watch's prev_kv), undefined if absent then. */
  getAt(key: Uint8Array, revision: number): KeyValue | undefined {
    return getAt(this.tables, key, revision);
  }

  hashKV(revision = 0): HashKVResponse {
    const result = hashKV(this.tables, this.meta, revision, (at) => {
      // Every key, at `at`: key "\0" with range_end "\0" is the whole key space.
      const all = new Uint8Array([0]);
      return this.range({ key: all, rangeEnd: all, revision: at, countOnly: true }).count;
    });
    return {
      header: { revision: result.currentRevision },
      hash: result.hash,
      compactRevision: result.compactRevision,
    };
  }

  /** Past changes for watch replay; see history.ts. `limit` and `maxScannedRecords` 0 mean no limit. */
  changesSince(
    startRevision: number,
    key: Uint8Array,
    rangeEnd: Uint8Array | undefined,
    limit: number,
    maxScannedRecords = 0,
  ): ChangesResult {
    return changesSince(
      this.tables,
      this.meta,
      startRevision,
      keyRange(key, rangeEnd),
      limit,
      maxScannedRecords,
    );
  }

  /** The keys attached to a lease, in key order. */
  keysWithLease(leaseId: bigint): Uint8Array[] {
    const prefix = leasePrefix(leaseId);
    const keys: Uint8Array[] = [];
    for (const key of this.tables.lease.getKeys({ start: prefix })) {
      if (key.compare(prefix, 0, LEASE_ID_BYTES, 0, LEASE_ID_BYTES) !== 0) break;
      keys.push(key.subarray(LEASE_ID_BYTES));
    }
    return keys;
  }

  /** The lease table row of `leaseId`, undefined when there is none. */
  lease(leaseId: bigint): LeaseRecord | undefined {
    return getLease(this.tables, leaseId);
  }

  /** Every row of the lease table, in id byte order (the lessor rebuilds from this at startup). */
  leaseRecords(): LeaseRecord[] {
    return [...listLeases(this.tables)];
  }

  // --- applying Raft entries ----------------------------------------------------------------------

  /** Applies one committed entry in its own LMDB transaction. */
  applyEntry(index: number, request: ApplyRequest): ApplyResult {
    return this.applyBatch([{ index, request }])[0]!;
  }

  /** Applies committed entries, in order, in one LMDB transaction. */
  applyBatch(entries: readonly ApplyEntry[]): ApplyResult[] {
    try {
      return this.tables.root.transactionSync(() => {
        const results: ApplyResult[] = new Array(entries.length);
        for (let i = 0; i < entries.length; i++) results[i] = this.applyOne(entries[i]!);
        writeMeta(this.tables, this.meta);
        return results;
      });
    } catch (error) {
      // The LMDB transaction aborted: forget the in-memory counters it advanced.
      this.meta = readMeta(this.tables);
      throw error;
    }
  }

  // Conveniences for callers without a Raft log (tests, tools): apply at the next index and
  // throw the request's error.

  put(r: PutRequest): PutResponse {
    const response = this.applyNext({ type: 'put', put: r });
    assert(response.type === 'put', 'put answered with another response type');
    return response.put;
  }

  deleteRange(r: DeleteRangeRequest): DeleteRangeResponse {
    const response = this.applyNext({ type: 'deleteRange', deleteRange: r });
    assert(response.type === 'deleteRange', 'deleteRange answered with another response type');
    return response.deleteRange;
  }

  txn(r: TxnRequest): TxnResponse {
    const response = this.applyNext({ type: 'txn', txn: r });
    assert(response.type === 'txn', 'txn answered with another response type');
    return response.txn;
  }

  compact(revision: number): CompactionResponse {
    const response = this.applyNext({ type: 'compact', compact: { revision } });
    assert(response.type === 'compact', 'compact answered with another response type');
    return response.compact;
  }

  private applyNext(request: ApplyRequest): ApplyResponse {
    const result = this.applyEntry(this.meta.appliedIndex + 1, request);
    if (result.status === 'failed') throw result.error;
    assert(result.status === 'applied', 'the next index cannot be skipped');
    return result.response;
  }

  // --- snapshots ----------------------------------------------------------------------------------

  /** The whole store as a stream of chunks, from one consistent read transaction. */
  snapshot(chunkBytes: number = DEFAULT_SNAPSHOT_CHUNK_BYTES): Iterable<Uint8Array> {
    return snapshotChunks(this.tables, chunkBytes);
  }

  /** Replaces the whole store with a snapshot, atomically: on any error the store is unchanged. */
  restore(chunks: Iterable<Uint8Array>): void {
    try {
      this.tables.root.transactionSync(() => restoreTables(this.tables, chunks));
    } finally {
      this.meta = readMeta(this.tables);
    }
  }

  // --- internals ----------------------------------------------------------------------------------

  private readView() {
    return {
      tables: this.tables,
      currentRevision: this.meta.currentRevision,
      compactRevision: this.meta.compactRevision,
    };
  }

  private txnContext() {
    return { tables: this.tables, compactRevision: this.meta.compactRevision, leases: this.leases };
  }

  private applyOne(entry: ApplyEntry): ApplyResult {
    if (entry.index <= this.meta.appliedIndex) return SKIPPED;
    const txn = new WriteTxn(this.tables, this.meta.currentRevision);
    let result: ApplyResult;
    try {
      const response = this.execute(entry.request, txn);
      result = { status: 'applied', response, events: txn.hasChanges() ? txn.events : NO_EVENTS };
    } catch (error) {
      // A refused request must not have written anything; if it did, abort the whole batch.
      if (!(error instanceof MvccError) || txn.hasChanges()) throw error;
      result = { status: 'failed', error };
    }
    if (txn.hasChanges()) this.meta.currentRevision = txn.beginRevision + 1;
    this.meta.appliedIndex = entry.index;
    return result;
  }

  private execute(request: ApplyRequest, txn: WriteTxn): ApplyResponse {
    switch (request.type) {
      case 'put':
        checkPutRequest(request.put, this.limits);
        checkPutLease(request.put, this.leases);
        return { type: 'put', put: applyPut(this.tables, txn, request.put) };
      case 'deleteRange':
        checkDeleteRequest(request.deleteRange, this.limits);
        return { type: 'deleteRange', deleteRange: applyDeleteRange(this.tables, txn, request.deleteRange) };
      case 'txn':
        checkTxn(request.txn, this.limits);
        return { type: 'txn', txn: applyTxn(this.txnContext(), txn, request.txn) };
      case 'compact':
        checkCompact(this.meta, request.compact.revision);
        compactHistory(this.tables, request.compact.revision);
        this.meta.compactRevision = request.compact.revision;
        return { type: 'compact', compact: { header: { revision: this.meta.currentRevision } } };
      case 'leaseGrant':
        applyLeaseGrant(this.tables, request.leaseGrant);
        return {
          type: 'leaseGrant',
          leaseGrant: {
            header: { revision: this.meta.currentRevision },
            id: request.leaseGrant.id,
            ttlSeconds: request.leaseGrant.ttlSeconds,
          },
        };
      case 'leaseCheckpoint':
        applyLeaseCheckpoint(this.tables, request.leaseCheckpoint);
        return {
          type: 'leaseCheckpoint',
          leaseCheckpoint: { header: { revision: this.meta.currentRevision } },
        };
      case 'leaseRevoke': {
        // Checked before any write so a refused revoke changes nothing (etcd lessor.Revoke).
        const known = removeLease(this.tables, request.leaseId);
        if (!known && this.leaseTableChecked) throw new LeaseNotFoundError();
        let deleted = 0;
        for (const key of this.keysWithLease(request.leaseId))
          deleted += txn.deleteRange(keyRange(key, undefined));
        const revision = txn.hasChanges() ? txn.beginRevision + 1 : txn.beginRevision;
        return { type: 'leaseRevoke', leaseRevoke: { header: { revision }, deleted } };
      }
      case 'noop':
        return { type: 'noop', header: { revision: this.meta.currentRevision } };
    }
  }
}
