// The LMDB environment behind one MVCC store and its sub-databases (see store.ts for the
// layout). Keys and values are raw bytes everywhere (keyEncoding/encoding 'binary'): the byte
// order of keys is the order the MVCC rules need, and lmdb-js copies binary values out of the
// map, so decoded records may keep sub-arrays of them.

import { type Database, type DatabaseOptions, open, type RootDatabase } from 'lmdb';
import { assert } from '../raft/assert.js';
import { readUint64, writeUint64 } from './keys.js';
import { VISITING_ENCODER, VISITING_KEY_ENCODER } from './record-visit.js';

export interface Tables {
  readonly root: RootDatabase<Buffer, Buffer>;
  /** "state": current revision, compact revision, applied index. */
  readonly meta: Database<Buffer, Buffer>;
  /** user key -> record of its live revision (absent when deleted). Serves current-revision reads. */
  readonly latest: Database<Buffer, Buffer>;
  /** The same table, read-only, each value handed uncopied to a visitor (record-visit.ts). */
  readonly latestVisit: Database<true, Buffer>;
  /** revision key -> record (put or tombstone). etcd's "key" bucket: watch replay, hash, snapshots. */
  readonly rev: Database<Buffer, Buffer>;
  /** history key (escaped user key ++ revision) -> 1 byte, 1 = tombstone. etcd's keyIndex, on disk. */
  readonly hist: Database<Buffer, Buffer>;
  /** lease id ++ user key -> 1 byte. Keys attached to each lease. */
  readonly lease: Database<Buffer, Buffer>;
  /** lease id -> granted TTL and checkpointed remaining TTL (leases.ts). etcd's "lease" bucket. */
  readonly leaseRecords: Database<Buffer, Buffer>;
}

/** Every table in a fixed order: the order snapshots write them in. Meta goes last. */
export const TABLE_NAMES = ['latest', 'rev', 'hist', 'lease', 'leaseRecords', 'meta'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

export interface OpenTablesOptions {
  readonly path: string;
  /** Skip fsync on commit: safe when the Raft WAL is the source of durability. */
  readonly noSync: boolean;
  readonly mapSizeBytes?: number;
}

/** 8 KiB pages raise lmdb-js's key size limit from 1978 to 4026 bytes. */
const PAGE_SIZE_BYTES = 8192;

export function openTables(options: OpenTablesOptions): Tables {
  const root = open<Buffer, Buffer>({
    path: options.path,
    maxDbs: 8,
    noSync: options.noSync,
    // Commits write pages straight into the shared map instead of malloc'ed copies flushed with
    // pwrite: with noSync a commit then makes almost no system calls. Measured at 64 puts in
    // flight: ~15% less CPU per put over the three members. A killed process loses nothing (the
    // pages are the kernel's), and fsync-level durability comes from the WAL as before; the price
    // is that the data file is as large as the map (sparse: only written pages take disk space).
    useWritemap: true,
    pageSize: PAGE_SIZE_BYTES,
    keyEncoding: 'binary',
    encoding: 'binary',
    ...(options.mapSizeBytes === undefined ? {} : { mapSize: options.mapSizeBytes }),
  });
  const table = (name: string) =>
    root.openDB<Buffer, Buffer>(name, { keyEncoding: 'binary', encoding: 'binary', cache: false });
  return {
    root,
    meta: table('meta'),
    latest: table('latest'),
    // lmdb-js takes `encoder` on any database, though its types declare it on the root only.
    latestVisit: root.openDB<true, Buffer>('latest', {
      keyEncoder: VISITING_KEY_ENCODER,
      cache: false,
      encoder: VISITING_ENCODER,
    } as DatabaseOptions),
    rev: table('rev'),
    hist: table('hist'),
    lease: table('lease'),
    leaseRecords: table('leaseRecords'),
  };
}

export function tableByName(tables: Tables, name: TableName): Database<Buffer, Buffer> {
  return tables[name];
}

/** The largest key lmdb-js accepts in these tables. */
export function maxKeyBytes(tables: Tables): number {
  return (tables.latest as unknown as { maxKeySize: number }).maxKeySize;
}

// --- meta --------------------------------------------------------------------------------------

export interface MetaState {
  currentRevision: number;
  /** -1 until the first compaction, as etcd's compactMainRev. */
  compactRevision: number;
  appliedIndex: number;
}

const META_KEY = Buffer.from('state');
const META_BYTES = 24;

/** A fresh store is at revision 1 (etcd's kvstore starts currentRev at 1). */
export function initialMeta(): MetaState {
  return { currentRevision: 1, compactRevision: -1, appliedIndex: 0 };
}

export function readMeta(tables: Tables): MetaState {
  const bytes = tables.meta.get(META_KEY);
  if (bytes === undefined) return initialMeta();
  assert(bytes.length === META_BYTES, 'mvcc meta record has the wrong length');
  return {
    currentRevision: readUint64(bytes, 0),
    // Stored +1 so that -1 fits an unsigned field.
    compactRevision: readUint64(bytes, 8) - 1,
    appliedIndex: readUint64(bytes, 16),
  };
}

export function writeMeta(tables: Tables, state: MetaState): void {
  const bytes = Buffer.allocUnsafe(META_BYTES);
  writeUint64(bytes, state.currentRevision, 0);
  writeUint64(bytes, state.compactRevision + 1, 8);
  writeUint64(bytes, state.appliedIndex, 16);
  tables.meta.putSync(META_KEY, bytes);
}
