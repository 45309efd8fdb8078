// WAL segment files: naming and scanning.
//
// A segment is named `<sequence>-<firstIndex>.wal`, both 16 lowercase hex digits (etcd style),
// where firstIndex is lastIndex + 1 when the segment was created, so every entry in an earlier
// segment is below it. The first record of a segment is always its SegmentHeader.
//
// Torn tails. The WAL fsyncs a segment completely before it creates the next one, so only the
// last segment can end in a record that was being written when the process or machine died.
// A record that fails to parse is treated as a torn tail when it is in the last segment and no
// whole record (valid type, length within the file, matching CRC32C) starts anywhere after it:
// everything from it onwards was never acknowledged, because an acknowledgement waits for an
// fsync covering every earlier byte. Any other bad record is damage to data that may have been
// acknowledged, and recovery stops with WalCorruptError naming the file and byte offset.
// Conservative by design: if a power loss persisted a later page of an unsynced batch but not
// an earlier one, this reports corruption (the node stops) rather than guessing.

import { crc32c } from './crc32c.js';
import { WalCorruptError } from './errors.js';
import {
  decodeSegmentHeader,
  isRecordType,
  parseRecord,
  type RawRecord,
  RECORD_HEADER_BYTES,
  RECORD_PAYLOAD_BYTES_MAX,
  RecordType,
  type SegmentHeader,
} from './record.js';

export const SEGMENT_SUFFIX = '.wal';

export interface SegmentName {
  readonly name: string;
  readonly sequence: number;
  readonly firstIndex: number;
}

function hex16(value: number): string {
  return value.toString(16).padStart(16, '0');
}

export function segmentFileName(sequence: number, firstIndex: number): string {
  return `${hex16(sequence)}-${hex16(firstIndex)}${SEGMENT_SUFFIX}`;
}

const SEGMENT_NAME_PATTERN = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** Parses a segment file name; null for any other file (temporary files, stray files). */
export function parseSegmentFileName(name: string): SegmentName | null {
  const match = SEGMENT_NAME_PATTERN.exec(name);
  if (match === null) return null;
  const sequence = Number.parseInt(match[1], 16);
  const firstIndex = Number.parseInt(match[2], 16);
  if (!Number.isSafeInteger(sequence) || !Number.isSafeInteger(firstIndex)) return null;
  return { name, sequence, firstIndex };
}

export interface SegmentScan {
  /** Null only for a last segment whose header itself was torn (it holds nothing acknowledged). */
  readonly header: SegmentHeader | null;
  /** Bytes up to the end of the last whole record. */
  readonly validBytes: number;
  /** Bytes after `validBytes` that belong to a torn tail (0 when the segment ends cleanly). */
  readonly tornBytes: number;
}

/**
 * Reads every record of one segment in order, calling `onRecord` for each record after the
 * header. Throws WalCorruptError for damage that is not a torn tail (see the file comment).
 * The last segment may end in zeros: space reserved ahead of the writes (Wal.createSegment),
 * which is where the content cleanly ends, not a torn tail.
 */
export function scanSegment(
  bytes: Uint8Array,
  file: string,
  isLast: boolean,
  onRecord: (record: RawRecord, offsetBytes: number) => void,
): SegmentScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Nothing starts in a zero tail: a record's type byte is never 0.
  const contentEnd = isLast ? endOfContent(bytes) : bytes.length;
  let header: SegmentHeader | null = null;
  let offset = 0;
  while (offset < bytes.length) {
    const parsed = parseRecord(bytes, view, offset);
    if (!parsed.ok) {
      if (isLast && offset >= contentEnd) return { header, validBytes: offset, tornBytes: 0 };
      if (isLast && !wholeRecordAfter(bytes, view, offset, contentEnd)) {
        return { header, validBytes: offset, tornBytes: contentEnd - offset };
      }
      throw new WalCorruptError(file, offset, parsed.reason);
    }
    if (header === null) {
      if (parsed.record.type !== RecordType.SegmentHeader) {
        throw new WalCorruptError(file, offset, `first record has type ${parsed.record.type}, not a header`);
      }
      header = decodeOrThrow(file, offset, () => decodeSegmentHeader(parsed.record));
    } else {
      if (parsed.record.type === RecordType.SegmentHeader) {
        throw new WalCorruptError(file, offset, 'second segment header');
      }
      onRecord(parsed.record, offset);
    }
    offset = parsed.endOffset;
  }
  if (header === null && !isLast) throw new WalCorruptError(file, 0, 'empty segment');
  return { header, validBytes: offset, tornBytes: 0 };
}

/** Runs a payload decoder, turning its failure into a WalCorruptError at `offsetBytes`. */
export function decodeOrThrow<T>(file: string, offsetBytes: number, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new WalCorruptError(file, offsetBytes, reason);
  }
}

/** Offset just past the last non-zero byte (0 for an all-zero file). */
export function endOfContent(bytes: Uint8Array): number {
  let end = bytes.length;
  // Eight bytes at a time over the aligned part: a reserved tail is megabytes of zeros.
  const alignedStart = Math.ceil(bytes.byteOffset / 8) * 8 - bytes.byteOffset;
  while (end > alignedStart && (end - alignedStart) % 8 !== 0) {
    if (bytes[end - 1] !== 0) return end;
    end--;
  }
  if (end > alignedStart) {
    const words = new BigUint64Array(bytes.buffer, bytes.byteOffset + alignedStart, (end - alignedStart) / 8);
    let word = words.length;
    while (word > 0 && words[word - 1] === 0n) word--;
    end = alignedStart + word * 8;
  }
  while (end > 0 && bytes[end - 1] === 0) end--;
  return end;
}

/** Does a whole, checksummed record start after `badOffset` (and before `contentEnd`)? */
function wholeRecordAfter(bytes: Uint8Array, view: DataView, badOffset: number, contentEnd: number): boolean {
  const lastStart = Math.min(bytes.length - RECORD_HEADER_BYTES, contentEnd - 1);
  for (let start = badOffset + 1; start <= lastStart; start++) {
    // Cheap filters first: zero fill and random garbage fail on the type or length.
    if (!isRecordType(bytes[start + 8])) continue;
    const payloadLength = view.getUint32(start, true);
    if (payloadLength > RECORD_PAYLOAD_BYTES_MAX) continue;
    const end = start + RECORD_HEADER_BYTES + payloadLength;
    if (end > bytes.length) continue;
    if (crc32c(bytes, start + 8, end) === view.getUint32(start + 4, true)) return true;
  }
  return false;
}
