// Base64 as Go's encoding/json reads []byte fields: base64.StdEncoding (padded, not strict),
// skipping \r and \n, and failing with Go's CorruptInputError text, whose offset clients see in
// etcd's error body ("illegal base64 data at input byte 3"). A port of decodeQuantum (Go 1.19).

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 0x3d; // '='
const INVALID = 0xff;

const DECODE_MAP = (() => {
  const map = new Uint8Array(256).fill(INVALID);
  for (let i = 0; i < ALPHABET.length; i++) map[ALPHABET.charCodeAt(i)] = i;
  return map;
})();

export class Base64Error extends Error {
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
    this.name = 'Base64Error';
  }
}

const isNewline = (c: number) => c === 0x0a || c === 0x0d;

/** Decodes `src` or throws Base64Error at the offset Go reports. */
export function goBase64Decode(src: Uint8Array): Buffer {
  const out: number[] = [];
  let si = 0;
  while (si < src.length) si = decodeQuantum(src, si, out);
  return Buffer.from(out);
}

/** One 4-character group from `si`; appends its bytes to `out` and returns where the next starts. */
function decodeQuantum(src: Uint8Array, start: number, out: number[]): number {
  const digits = [0, 0, 0, 0];
  let length = 4;
  let si = start;
  for (let j = 0; j < 4; j++) {
    if (si === src.length) {
      if (j === 0) return si;
      throw new Base64Error(si - j); // a padded encoding cannot end mid-group
    }
    const c = src[si++];
    const value = DECODE_MAP[c];
    if (value !== INVALID) {
      digits[j] = value;
      continue;
    }
    if (isNewline(c)) {
      j--;
      continue;
    }
    if (c !== PAD || j < 2) throw new Base64Error(si - 1);
    si = consumePadding(src, si, j);
    length = j;
    break;
  }
  const bits = (digits[0] << 18) | (digits[1] << 12) | (digits[2] << 6) | digits[3];
  const decoded = [(bits >> 16) & 0xff, (bits >> 8) & 0xff, bits & 0xff];
  for (let k = 0; k < length - 1; k++) out.push(decoded[k]);
  return si;
}

/** After the first '=' at group position `j`: the rest of the padding, then only newlines. */
function consumePadding(src: Uint8Array, afterPad: number, j: number): number {
  let si = afterPad;
  if (j === 2) {
    while (si < src.length && isNewline(src[si])) si++;
    if (si === src.length) throw new Base64Error(src.length); // "==" expected, got "="
    if (src[si] !== PAD) throw new Base64Error(si - 1);
    si++;
  }
  while (si < src.length && isNewline(src[si])) si++;
  if (si < src.length) throw new Base64Error(si); // trailing garbage after the padding
  return si;
}
