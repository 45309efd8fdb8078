// The set of operations linearized so far, as bits. Its `key()` is half of the search cache key
// (the other half is the model state), so it has to be cheap and collision-free.

import { assert } from './assert.js';

/** String.fromCharCode takes its words as call arguments; stay well under engine argument limits. */
const KEY_CHUNK_WORDS = 4096;

export class Bitset {
  // 16-bit words so each word is exactly one UTF-16 code unit of the key.
  private readonly words: Uint16Array;

  constructor(readonly sizeBits: number) {
    assert(Number.isInteger(sizeBits) && sizeBits >= 0, `bitset size ${sizeBits}`);
    this.words = new Uint16Array(Math.max(1, Math.ceil(sizeBits / 16)));
  }

  set(bit: number): void {
    this.words[bit >>> 4] |= 1 << (bit & 15);
  }

  clear(bit: number): void {
    this.words[bit >>> 4] &= ~(1 << (bit & 15));
  }

  has(bit: number): boolean {
    return (this.words[bit >>> 4]! & (1 << (bit & 15))) !== 0;
  }

  /** A fixed-length string (one char per word), so it can be concatenated with another key safely. */
  key(): string {
    if (this.words.length <= KEY_CHUNK_WORDS) return String.fromCharCode(...this.words);
    let key = '';
    for (let start = 0; start < this.words.length; start += KEY_CHUNK_WORDS) {
      key += String.fromCharCode(...this.words.subarray(start, start + KEY_CHUNK_WORDS));
    }
    return key;
  }
}
