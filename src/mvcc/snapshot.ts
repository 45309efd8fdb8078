// Whole-store snapshots for Raft: a byte stream of every table, read from one LMDB read
// transaction so it is a consistent cut (revision counters, compact revision and applied index
// included, in the meta table). Produced and consumed in chunks so memory stays bounded.
//
// Stream format (all integers big-endian):
//   "FLMVCC" (6 bytes), format version (u8)
//   records: table id (u8, index into TABLE_NAMES), key length (u32), value length (u32), key, value
//   trailer: 0xFF, CRC32C of every byte before the trailer (u32)

import { assert } from '../raft/assert.js';
import { crc32cUpdate } from '../storage/crc32c.js';
import { SnapshotFormatError } from './errors.js';
import { TABLE_NAMES, type Tables, tableByName } from './tables.js';

const MAGIC = Buffer.from('FLMVCC');
// Version 2 added the leaseRecords table (table ids shifted: meta is now 5).
const FORMAT_VERSION = 2;
const HEADER_BYTES = MAGIC.length + 1;
const RECORD_HEADER_BYTES = 9;
const TRAILER_MARK = 0xff;
const TRAILER_BYTES = 5;
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1 << 20;
/**
 * Records arrive in each table's key order into emptied tables: LMDB's append mode adds each at
 * the end of the B-tree without a search (and fails the restore if the order is ever broken).
 */
const APPEND = { append: true } as const;

/** Yields the snapshot in chunks of about `chunkBytes` (a record larger than that gets its own). */
export function* snapshotChunks(
  tables: Tables,
  chunkBytes: number = DEFAULT_SNAPSHOT_CHUNK_BYTES,
): Generator<Uint8Array> {
  assert(chunkBytes > 0, 'snapshot chunk size must be positive');
  const transaction = tables.root.useReadTransaction();
  try {
    let crc = 0;
    let parts: Buffer[] = [];
    let partsBytes = 0;
    const header = Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION])]);
    parts.push(header);
    partsBytes += header.length;
    crc = crc32cUpdate(crc, header);
    for (let id = 0; id < TABLE_NAMES.length; id++) {
      const table = tableByName(tables, TABLE_NAMES[id]!);
      for (const { key, value } of table.getRange({ start: Buffer.alloc(1), transaction })) {
        const recordHeader = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
        recordHeader[0] = id;
        recordHeader.writeUInt32BE(key.length, 1);
        recordHeader.writeUInt32BE(value.length, 5);
        crc = crc32cUpdate(crc32cUpdate(crc32cUpdate(crc, recordHeader), key), value);
        parts.push(recordHeader, key, value);
        partsBytes += RECORD_HEADER_BYTES + key.length + value.length;
        if (partsBytes >= chunkBytes) {
          yield Buffer.concat(parts, partsBytes);
          parts = [];
          partsBytes = 0;
        }
      }
    }
    const trailer = Buffer.allocUnsafe(TRAILER_BYTES);
    trailer[0] = TRAILER_MARK;
    trailer.writeUInt32BE(crc, 1);
    parts.push(trailer);
    partsBytes += TRAILER_BYTES;
    yield Buffer.concat(parts, partsBytes);
  } finally {
    transaction.done();
  }
}

/**
 * Replaces every table with the snapshot's contents. Must run inside an LMDB write transaction:
 * any error (truncated, corrupt, unknown format) throws and so aborts it, leaving the store as
 * it was.
 */
export function restoreTables(tables: Tables, chunks: Iterable<Uint8Array>): void {
  for (const name of TABLE_NAMES) tableByName(tables, name).clearSync();
  let pending: Buffer = Buffer.alloc(0);
  let crc = 0;
  let sawHeader = false;
  let sawTrailer = false;
  for (const chunk of chunks) {
    if (sawTrailer) {
      if (chunk.length > 0) throw new SnapshotFormatError('bytes after the trailer');
      continue;
    }
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    let offset = 0;
    if (!sawHeader) {
      if (pending.length < HEADER_BYTES) continue;
      if (!pending.subarray(0, MAGIC.length).equals(MAGIC))
        throw new SnapshotFormatError('not an MVCC snapshot');
      if (pending[MAGIC.length] !== FORMAT_VERSION) {
        throw new SnapshotFormatError(`unknown format version ${pending[MAGIC.length]}`);
      }
      crc = crc32cUpdate(crc, pending.subarray(0, HEADER_BYTES));
      offset = HEADER_BYTES;
      sawHeader = true;
    }
    while (offset < pending.length) {
      const id = pending[offset]!;
      if (id === TRAILER_MARK) {
        if (pending.length - offset < TRAILER_BYTES) break;
        if (pending.readUInt32BE(offset + 1) !== crc) throw new SnapshotFormatError('checksum mismatch');
        if (pending.length - offset > TRAILER_BYTES) throw new SnapshotFormatError('bytes after the trailer');
        offset += TRAILER_BYTES;
        sawTrailer = true;
        break;
      }
      if (id >= TABLE_NAMES.length) throw new SnapshotFormatError(`unknown table id ${id}`);
      if (pending.length - offset < RECORD_HEADER_BYTES) break;
      const keyLength = pending.readUInt32BE(offset + 1);
      const valueLength = pending.readUInt32BE(offset + 5);
      const recordBytes = RECORD_HEADER_BYTES + keyLength + valueLength;
      if (pending.length - offset < recordBytes) break;
      crc = crc32cUpdate(crc, pending.subarray(offset, offset + recordBytes));
      const keyStart = offset + RECORD_HEADER_BYTES;
      const key = pending.subarray(keyStart, keyStart + keyLength);
      const value = pending.subarray(keyStart + keyLength, keyStart + keyLength + valueLength);
      tableByName(tables, TABLE_NAMES[id]!).putSync(key, value, APPEND);
      offset += recordBytes;
    }
    pending = pending.subarray(offset);
  }
  if (!sawTrailer) throw new SnapshotFormatError('truncated');
}
