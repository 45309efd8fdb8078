// Key and revision arithmetic: byte order, etcd's range forms, and the byte layouts of the
// LMDB keys (revision keys and escaped history keys). Pure functions, no I/O.

/** Lexicographic byte comparison, like Go's bytes.Compare. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A key range in etcd's three forms, normalised. `end === undefined` with `single === false`
 * means unbounded (rangeEnd "\0", etcd's mkGteRange).
 */
export interface KeyRange {
  readonly start: Uint8Array;
  readonly end: Uint8Array | undefined;
  readonly single: boolean;
}

export function keyRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyRange {
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start: key, end: undefined, single: true };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: undefined, single: false };
  return { start: key, end: rangeEnd, single: false };
}

export function inKeyRange(range: KeyRange, key: Uint8Array): boolean {
  if (range.single) return equalBytes(range.start, key);
  if (compareBytes(key, range.start) < 0) return false;
  return range.end === undefined || compareBytes(key, range.end) < 0;
}

/** A range [start, end) with end <= start holds nothing; LMDB must not be asked to scan it. */
export function isEmptyKeyRange(range: KeyRange): boolean {
  return !range.single && range.end !== undefined && compareBytes(range.end, range.start) <= 0;
}

// --- revision keys: 8-byte big-endian main revision + 8-byte big-endian sub revision ---------

export const REVISION_KEY_BYTES = 16;

const TWO_POW_32 = 0x1_0000_0000;

/** Writes a non-negative safe integer as 8 bytes big-endian (two 32-bit halves: no BigInt on the hot path). */
export function writeUint64(out: Buffer, value: number, offset: number): void {
  out.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  out.writeUInt32BE(value >>> 0, offset + 4);
}

export function readUint64(bytes: Buffer, offset: number): number {
  return bytes.readUInt32BE(offset) * TWO_POW_32 + bytes.readUInt32BE(offset + 4);
}

export function revisionKey(main: number, sub: number): Buffer {
  const out = Buffer.allocUnsafe(REVISION_KEY_BYTES);
  writeUint64(out, main, 0);
  writeUint64(out, sub, 8);
  return out;
}

// --- history keys: escape(userKey) ++ terminator ++ revision key --------------------------------
// The escaping keeps byte order across keys of different lengths and makes every user key's
// block of revisions contiguous: 0x00 becomes 0x00 0xFF and the key ends with 0x00 0x01, so a
// key that is a prefix of another sorts (with all its revisions) before it.

const ESCAPE_BYTE = 0xff;
const TERMINATOR_BYTE = 0x01;

/** escape(key) ++ 0x00 0x01: the common prefix of every history key of `key`. */
export function historyPrefix(key: Uint8Array): Buffer {
  let zeros = 0;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) zeros++;
  const out = Buffer.allocUnsafe(key.length + zeros + 2);
  let j = 0;
  for (let i = 0; i < key.length; i++) {
    const b = key[i]!;
    out[j++] = b;
    if (b === 0) out[j++] = ESCAPE_BYTE;
  }
  out[j++] = 0;
  out[j] = TERMINATOR_BYTE;
  return out;
}

/** Length in bytes of historyPrefix(key), without building it. */
export function historyPrefixLength(key: Uint8Array): number {
  let n = key.length + 2;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) n++;
  return n;
}

export function historyKey(prefix: Uint8Array, main: number, sub: number): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + REVISION_KEY_BYTES);
  out.set(prefix, 0);
  writeUint64(out, main, prefix.length);
  writeUint64(out, sub, prefix.length + 8);
  return out;
}

/** History-key bounds covering every revision of every key in `range` (end exclusive). */
export function historyBounds(range: KeyRange): { start: Buffer; end: Buffer | undefined } {
  if (range.single) {
    const prefix = historyPrefix(range.start);
    const end = Buffer.alloc(prefix.length + REVISION_KEY_BYTES + 1, 0xff);
    end.set(prefix, 0);
    return { start: prefix, end };
  }
  return {
    start: historyPrefix(range.start),
    end: range.end === undefined ? undefined : historyPrefix(range.end),
  };
}

// --- lease index keys: 8-byte lease id (two's complement, big-endian) ++ user key -------------

export const LEASE_ID_BYTES = 8;

export function leasePrefix(leaseId: bigint): Buffer {
  const out = Buffer.allocUnsafe(LEASE_ID_BYTES);
  out.writeBigInt64BE(leaseId, 0);
  return out;
}

export function leaseIndexKey(leaseId: bigint, key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(LEASE_ID_BYTES + key.length);
  out.writeBigInt64BE(leaseId, 0);
  out.set(key, LEASE_ID_BYTES);
  return out;
}
