// Keys and values shared by the MVCC sections: fixed-width keys whose byte order is their
// numeric order, so "the 1,000 keys from key(i)" is the range [key(i), key(i + 1000)).

export const KEY_BYTES = 16;
export const VALUE_BYTES = 256;
const KEY_PREFIX = 'k';
const KEY_DIGITS = KEY_BYTES - KEY_PREFIX.length;
const KEY_LIMIT = 10 ** KEY_DIGITS;

export function benchKey(i: number): Buffer {
  if (!Number.isSafeInteger(i) || i < 0 || i >= KEY_LIMIT) throw new Error(`bench key ${i} out of range`);
  return Buffer.from(KEY_PREFIX + String(i).padStart(KEY_DIGITS, '0'), 'latin1');
}

/**
 * One value shared by every put: the store keeps inputs by reference and never mutates them, and
 * LMDB stores it uncompressed, so its content does not change the cost being measured.
 */
export function benchValue(): Uint8Array {
  const value = new Uint8Array(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES; i++) value[i] = (i * 131 + 7) & 0xff;
  return value;
}
