// What can be checked of LMDB's data file before it is mapped. LMDB keeps no checksums: a flipped
// byte inside a B-tree page is not detectable here (docs/limits.md says what is). What is: the two
// meta pages (page 0 and 1) carry a magic number, the page size, the last page in use and the
// transaction id. lmdb-js does not refuse a file with one bad meta page cleanly: the process dies
// on a signal with no message. So both must have the magic, and the file must be as long as the
// newer meta says (a shorter one would fault, SIGBUS, on first read past its end).

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/** LMDB's MDB_MAGIC, little-endian at the start of MDB_meta. */
const LMDB_MAGIC = 0xbeefc0de;
/**
 * The page header before the meta: 16 bytes in LMDB 0.9 (mp_pgno, mp_pad, mp_flags, mp_lower,
 * mp_upper); 24 in the LMDB that lmdb-js 3 builds, which adds a transaction id to every page.
 */
const PAGE_HEADER_CANDIDATES = [16, 24];
/** MDB_meta after the header: magic u32, version u32, address u64, mapsize u64, two MDB_db of 48 bytes, last_pg u64, txnid u64. */
const META_PAGE_SIZE_OFFSET = 24;
const META_LAST_PAGE_OFFSET = META_PAGE_SIZE_OFFSET + 2 * 48;
const META_TXN_ID_OFFSET = META_LAST_PAGE_OFFSET + 8;
const META_BYTES = 32 + META_TXN_ID_OFFSET + 8;
/** LMDB page sizes are powers of two; anything else in the meta is damage. */
const PAGE_SIZE_CANDIDATES = [4096, 8192, 16384, 32768, 65536];

export class DataFileCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`mvcc: ${file} is corrupt: ${reason}`);
    this.name = 'DataFileCorruptError';
  }
}

interface Meta {
  readonly pageSizeBytes: number;
  readonly lastPage: bigint;
  readonly txnId: bigint;
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  readSync(fd, out, 0, length, offset);
  return out;
}

function parseMeta(page: Buffer, expectedPageSize: number | null): Meta | null {
  const header = PAGE_HEADER_CANDIDATES.find((bytes) => page.readUInt32LE(bytes) === LMDB_MAGIC);
  if (header === undefined) return null;
  // mm_dbs[FREE_DBI].md_pad holds the page size (LMDB's mm_psize).
  const pageSizeBytes = page.readUInt32LE(header + META_PAGE_SIZE_OFFSET);
  if (!PAGE_SIZE_CANDIDATES.includes(pageSizeBytes)) return null;
  if (expectedPageSize !== null && pageSizeBytes !== expectedPageSize) return null;
  return {
    pageSizeBytes,
    lastPage: page.readBigUInt64LE(header + META_LAST_PAGE_OFFSET),
    txnId: page.readBigUInt64LE(header + META_TXN_ID_OFFSET),
  };
}

/** Throws DataFileCorruptError if `file` (an LMDB data.mdb) cannot be opened safely. */
export function checkDataFile(file: string): void {
  if (!existsSync(file)) return; // a new member: LMDB creates it
  const sizeBytes = statSync(file).size;
  if (sizeBytes === 0) return; // created but never written (a crash during the first open)
  const smallestFile = 2 * PAGE_SIZE_CANDIDATES[0];
  if (sizeBytes < smallestFile) {
    throw new DataFileCorruptError(file, `${sizeBytes} bytes, smaller than LMDB's two meta pages`);
  }
  const fd = openSync(file, 'r');
  let metas: Meta[];
  try {
    const first = parseMeta(readAt(fd, 0, META_BYTES), null);
    if (first === null)
      throw new DataFileCorruptError(file, 'meta page 0 does not have the LMDB magic number');
    const second =
      first.pageSizeBytes + META_BYTES <= sizeBytes
        ? parseMeta(readAt(fd, first.pageSizeBytes, META_BYTES), first.pageSizeBytes)
        : null;
    if (second === null)
      throw new DataFileCorruptError(file, 'meta page 1 does not have the LMDB magic number');
    metas = [first, second];
  } finally {
    closeSync(fd);
  }
  const newest = metas.reduce((a, b) => (b.txnId > a.txnId ? b : a));
  const neededBytes = (newest.lastPage + 1n) * BigInt(newest.pageSizeBytes);
  if (BigInt(sizeBytes) < neededBytes) {
    throw new DataFileCorruptError(
      file,
      `truncated: ${sizeBytes} bytes, but transaction ${newest.txnId} uses pages up to byte ${neededBytes}`,
    );
  }
}
