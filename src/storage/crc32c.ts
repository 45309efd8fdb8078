// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum on every WAL record and
// snapshot file. Written by hand because Node 20 ships no CRC32C (zlib.crc32 is the IEEE
// polynomial and arrived in Node 22) and the WAL append path should not cross into a native
// addon per record. Slicing-by-8 tables: eight table lookups per 8 input bytes.

const POLYNOMIAL_REFLECTED = 0x82f63b78;
const TABLE_COUNT = 8;

function buildTables(): Uint32Array {
  const tables = new Uint32Array(256 * TABLE_COUNT);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL_REFLECTED : crc >>> 1;
    tables[byte] = crc >>> 0;
  }
  for (let byte = 0; byte < 256; byte++) {
    let crc = tables[byte];
    for (let table = 1; table < TABLE_COUNT; table++) {
      crc = (crc >>> 8) ^ tables[crc & 0xff];
      tables[table * 256 + byte] = crc >>> 0;
    }
  }
  return tables;
}

const TABLES = buildTables();

/**
 * Extends a running CRC32C with `bytes[start, end)`. Start a fresh checksum with `crc = 0`;
 * `crc32cUpdate(crc32cUpdate(0, a), b)` equals the checksum of `a` followed by `b`.
 */
export function crc32cUpdate(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = ~crc >>> 0;
  let i = start;
  const t = TABLES;
  while (end - i >= 8) {
    const lo = (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
    const hi = bytes[i + 4] | (bytes[i + 5] << 8) | (bytes[i + 6] << 16) | (bytes[i + 7] << 24);
    c =
      t[1792 + (lo & 0xff)] ^
      t[1536 + ((lo >>> 8) & 0xff)] ^
      t[1280 + ((lo >>> 16) & 0xff)] ^
      t[1024 + (lo >>> 24)] ^
      t[768 + (hi & 0xff)] ^
      t[512 + ((hi >>> 8) & 0xff)] ^
      t[256 + ((hi >>> 16) & 0xff)] ^
      t[(hi >>> 24) & 0xff];
    i += 8;
  }
  while (i < end) {
    c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

/** CRC32C of `bytes[start, end)`. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32cUpdate(0, bytes, start, end);
}
