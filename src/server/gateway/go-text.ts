// How Go writes strings, where etcd's gateway lets Go's formatting reach the client: quoted
// characters in JSON syntax errors, %q in jsonpb's messages, and encoding/json's string escaping
// (HTML-safe by default: <, > and & become \u003c, \u003e, \u0026).

/** strconv.IsPrint, approximated with Unicode categories (letters, marks, numbers, punctuation, symbols). */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const SHORT_ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  12: '\\f',
  10: '\\n',
  13: '\\r',
  9: '\\t',
  11: '\\v',
};

const hex = (value: number, width: number) => value.toString(16).padStart(width, '0');

/** strconv.Quote's escaping of one code point (without the surrounding quotes). */
function quoteRune(codePoint: number, quote: number): string {
  if (codePoint === quote || codePoint === 0x5c) return `\\${String.fromCodePoint(codePoint)}`;
  if (codePoint >= 0x20 && codePoint < 0x7f) return String.fromCodePoint(codePoint);
  if (codePoint >= 0x80 && PRINTABLE.test(String.fromCodePoint(codePoint))) {
    return String.fromCodePoint(codePoint);
  }
  const short = SHORT_ESCAPES[codePoint];
  if (short !== undefined) return short;
  if (codePoint < 0x80) return `\\x${hex(codePoint, 2)}`;
  if (codePoint < 0x10000) return `\\u${hex(codePoint, 4)}`;
  return `\\U${hex(codePoint, 8)}`;
}

/** Go's %q (strconv.Quote) of a byte string, decoded as UTF-8; invalid bytes become \xNN. */
export function goQuote(bytes: Uint8Array): string {
  let out = '"';
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < text.length; ) {
    const { codePoint, size } = decodeRune(text, i);
    out += codePoint < 0 ? `\\x${hex(text[i], 2)}` : quoteRune(codePoint, 0x22);
    i += size;
  }
  return `${out}"`;
}

/**
 * encoding/json's quoteChar: a byte in a syntax error. Go converts the byte to the rune of the
 * same number, so 0xff reads 'ÿ'.
 */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  return `'${quoteRune(c, 0x22)}'`;
}

/** One UTF-8 sequence at `offset`: its code point, or -1 for an invalid byte (size 1). */
function decodeRune(bytes: Buffer, offset: number): { codePoint: number; size: number } {
  const first = bytes[offset];
  if (first < 0x80) return { codePoint: first, size: 1 };
  const size = first >= 0xf0 && first < 0xf5 ? 4 : first >= 0xe0 ? 3 : first >= 0xc2 ? 2 : 0;
  if (size === 0 || first >= 0xf5 || offset + size > bytes.length) return { codePoint: -1, size: 1 };
  let codePoint = first & (0xff >> (size + 1));
  for (let k = 1; k < size; k++) {
    const next = bytes[offset + k];
    if ((next & 0xc0) !== 0x80) return { codePoint: -1, size: 1 };
    codePoint = (codePoint << 6) | (next & 0x3f);
  }
  const overlong = (size === 3 && codePoint < 0x800) || (size === 4 && codePoint < 0x10000);
  const surrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
  if (overlong || surrogate || codePoint > 0x10ffff) return { codePoint: -1, size: 1 };
  return { codePoint, size };
}

/** encoding/json's string encoding with HTML escaping (Go 1.19), as jsonpb emits strings. */
export function goJsonString(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code === 0x22 || code === 0x5c) out += `\\${char}`;
    else if (code === 0x0a) out += '\\n';
    else if (code === 0x0d) out += '\\r';
    else if (code === 0x09) out += '\\t';
    else if (code < 0x20 || code === 0x3c || code === 0x3e || code === 0x26) out += `\\u00${hex(code, 2)}`;
    else if (code === 0x2028 || code === 0x2029) out += `\\u${hex(code, 4)}`;
    else if (code >= 0xd800 && code <= 0xdfff)
      out += '\\ufffd'; // a lone surrogate is not UTF-8
    else out += char;
  }
  return `${out}"`;
}
