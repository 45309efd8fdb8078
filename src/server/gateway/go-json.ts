// JSON syntax as Go's encoding/json checks it, with Go's error messages. etcd's gateway decodes
// request bodies with Go's json.Decoder and reports syntax errors by their Go text ("invalid
// character 'b' looking for beginning of object key string"), which clients see in the error
// body; this is a port of the state machine in Go's encoding/json/scanner.go (Go 1.19, what
// etcd 3.4.23 is built with), byte for byte.

import { goQuoteChar } from './go-text.js';

/** encoding/json maxNestingDepth. */
const MAX_NESTING_DEPTH = 10_000;

enum Scan {
  Continue,
  BeginLiteral,
  BeginObject,
  ObjectKey,
  ObjectValue,
  EndObject,
  BeginArray,
  ArrayValue,
  EndArray,
  SkipSpace,
  End,
  Error,
}

enum Parse {
  ObjectKey,
  ObjectValue,
  ArrayValue,
}

type Step = (scanner: Scanner, c: number) => Scan;

class Scanner {
  step: Step = beginValue;
  readonly parseState: Parse[] = [];
  error: string | undefined = undefined;
  endTop = false;

  fail(c: number, context: string): Scan {
    this.step = stateError;
    this.error = `invalid character ${goQuoteChar(c)} ${context}`;
    return Scan.Error;
  }

  push(c: number, state: Parse, success: Scan): Scan {
    this.parseState.push(state);
    return this.parseState.length <= MAX_NESTING_DEPTH ? success : this.fail(c, 'exceeded max depth');
  }

  pop(): void {
    this.parseState.pop();
    if (this.parseState.length === 0) {
      this.step = endTop;
      this.endTop = true;
    } else {
      this.step = endValue;
    }
  }

  /** scanner.eof(): the input ended; Scan.End if a whole value was seen. */
  eof(): Scan {
    if (this.error !== undefined) return Scan.Error;
    if (this.endTop) return Scan.End;
    this.step(this, SPACE);
    if (this.endTop) return Scan.End;
    this.error ??= 'unexpected end of JSON input';
    return Scan.Error;
  }
}

const SPACE = 0x20;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

function beginValue(s: Scanner, c: number): Scan {
  if (isSpace(c)) return Scan.SkipSpace;
  switch (c) {
    case 0x7b /* { */:
      s.step = beginStringOrEmpty;
      return s.push(c, Parse.ObjectKey, Scan.BeginObject);
    case 0x5b /* [ */:
      s.step = beginValueOrEmpty;
      return s.push(c, Parse.ArrayValue, Scan.BeginArray);
    case 0x22 /* " */:
      s.step = inString;
      return Scan.BeginLiteral;
    case 0x2d /* - */:
      s.step = negative;
      return Scan.BeginLiteral;
    case 0x30 /* 0 */:
      s.step = zero;
      return Scan.BeginLiteral;
    case 0x74 /* t */:
      s.step = literal('true', 1);
      return Scan.BeginLiteral;
    case 0x66 /* f */:
      s.step = literal('false', 1);
      return Scan.BeginLiteral;
    case 0x6e /* n */:
      s.step = literal('null', 1);
      return Scan.BeginLiteral;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = digits;
    return Scan.BeginLiteral;
  }
  return s.fail(c, 'looking for beginning of value');
}

function beginValueOrEmpty(s: Scanner, c: number): Scan {
  if (isSpace(c)) return Scan.SkipSpace;
  if (c === 0x5d /* ] */) return endValue(s, c);
  return beginValue(s, c);
}

function beginStringOrEmpty(s: Scanner, c: number): Scan {
  if (isSpace(c)) return Scan.SkipSpace;
  if (c === 0x7d /* } */) {
    s.parseState[s.parseState.length - 1] = Parse.ObjectValue;
    return endValue(s, c);
  }
  return beginString(s, c);
}

function beginString(s: Scanner, c: number): Scan {
  if (isSpace(c)) return Scan.SkipSpace;
  if (c === 0x22) {
    s.step = inString;
    return Scan.BeginLiteral;
  }
  return s.fail(c, 'looking for beginning of object key string');
}

function endValue(s: Scanner, c: number): Scan {
  const n = s.parseState.length;
  if (n === 0) {
    s.step = endTop;
    s.endTop = true;
    return endTop(s, c);
  }
  if (isSpace(c)) {
    s.step = endValue;
    return Scan.SkipSpace;
  }
  switch (s.parseState[n - 1]) {
    case Parse.ObjectKey:
      if (c === 0x3a /* : */) {
        s.parseState[n - 1] = Parse.ObjectValue;
        s.step = beginValue;
        return Scan.ObjectKey;
      }
      return s.fail(c, 'after object key');
    case Parse.ObjectValue:
      if (c === 0x2c /* , */) {
        s.parseState[n - 1] = Parse.ObjectKey;
        s.step = beginString;
        return Scan.ObjectValue;
      }
      if (c === 0x7d) {
        s.pop();
        return Scan.EndObject;
      }
      return s.fail(c, 'after object key:value pair');
    default:
      if (c === 0x2c) {
        s.step = beginValue;
        return Scan.ArrayValue;
      }
      if (c === 0x5d) {
        s.pop();
        return Scan.EndArray;
      }
      return s.fail(c, 'after array element');
  }
}

function endTop(s: Scanner, c: number): Scan {
  if (!isSpace(c)) s.fail(c, 'after top-level value'); // reported on the next byte, as in Go
  return Scan.End;
}

function inString(s: Scanner, c: number): Scan {
  if (c === 0x22) {
    s.step = endValue;
    return Scan.Continue;
  }
  if (c === 0x5c /* \ */) {
    s.step = inStringEscape;
    return Scan.Continue;
  }
  if (c < 0x20) return s.fail(c, 'in string literal');
  return Scan.Continue;
}

function inStringEscape(s: Scanner, c: number): Scan {
  if ('bfnrt\\/"'.includes(String.fromCharCode(c))) {
    s.step = inString;
    return Scan.Continue;
  }
  if (c === 0x75 /* u */) {
    s.step = unicodeEscape(4);
    return Scan.Continue;
  }
  return s.fail(c, 'in string escape code');
}

function unicodeEscape(remaining: number): Step {
  return (s, c) => {
    if (!isHex(c)) return s.fail(c, 'in \\u hexadecimal character escape');
    s.step = remaining === 1 ? inString : unicodeEscape(remaining - 1);
    return Scan.Continue;
  };
}

function negative(s: Scanner, c: number): Scan {
  if (c === 0x30) {
    s.step = zero;
    return Scan.Continue;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = digits;
    return Scan.Continue;
  }
  return s.fail(c, 'in numeric literal');
}

function digits(s: Scanner, c: number): Scan {
  if (isDigit(c)) return Scan.Continue;
  return zero(s, c);
}

function zero(s: Scanner, c: number): Scan {
  if (c === 0x2e /* . */) {
    s.step = dot;
    return Scan.Continue;
  }
  if (c === 0x65 || c === 0x45 /* e E */) {
    s.step = exponent;
    return Scan.Continue;
  }
  return endValue(s, c);
}

function dot(s: Scanner, c: number): Scan {
  if (isDigit(c)) {
    s.step = fraction;
    return Scan.Continue;
  }
  return s.fail(c, 'after decimal point in numeric literal');
}

function fraction(s: Scanner, c: number): Scan {
  if (isDigit(c)) return Scan.Continue;
  if (c === 0x65 || c === 0x45) {
    s.step = exponent;
    return Scan.Continue;
  }
  return endValue(s, c);
}

function exponent(s: Scanner, c: number): Scan {
  if (c === 0x2b || c === 0x2d /* + - */) {
    s.step = exponentSign;
    return Scan.Continue;
  }
  return exponentSign(s, c);
}

function exponentSign(s: Scanner, c: number): Scan {
  if (isDigit(c)) {
    s.step = exponentDigits;
    return Scan.Continue;
  }
  return s.fail(c, 'in exponent of numeric literal');
}

function exponentDigits(s: Scanner, c: number): Scan {
  if (isDigit(c)) return Scan.Continue;
  return endValue(s, c);
}

/** true, false, null: `seen` letters matched so far. */
function literal(word: string, seen: number): Step {
  return (s, c) => {
    const expected = word.charCodeAt(seen);
    if (c !== expected) return s.fail(c, `in literal ${word} (expecting '${word[seen]}')`);
    s.step = seen + 1 === word.length ? endValue : literal(word, seen + 1);
    return Scan.Continue;
  };
}

function stateError(): Scan {
  return Scan.Error;
}

/** What json.Decoder.Decode sees next in a buffer. */
export type ReadResult =
  | { readonly kind: 'value'; readonly start: number; readonly end: number }
  /** Only white space remained (io.EOF). */
  | { readonly kind: 'eof' }
  /** The buffer ends inside a value; more input may complete it. */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'error'; readonly message: string };

/**
 * json.Decoder.readValue: the next JSON value in `buffer` from `offset`. With `atEof`, the
 * buffer is all there will be: an unfinished value is "unexpected EOF".
 */
export function readValue(buffer: Uint8Array, offset: number, atEof: boolean): ReadResult {
  const scanner = new Scanner();
  let start = -1;
  for (let i = offset; i < buffer.length; i++) {
    const c = buffer[i];
    const result = scanner.step(scanner, c);
    if (start < 0 && result !== Scan.SkipSpace) start = i;
    if (result === Scan.End) return { kind: 'value', start, end: i };
    if ((result === Scan.EndObject || result === Scan.EndArray) && endValue(scanner, SPACE) === Scan.End) {
      return { kind: 'value', start, end: i + 1 };
    }
    if (result === Scan.Error) return { kind: 'error', message: scanner.error ?? '' };
  }
  if (!atEof) return { kind: 'incomplete' };
  if (scanner.step(scanner, SPACE) === Scan.End) return { kind: 'value', start, end: buffer.length };
  return start < 0 ? { kind: 'eof' } : { kind: 'error', message: 'unexpected EOF' };
}

/** json.Unmarshal's checkValid: the syntax error in `data`, or undefined when it is one JSON value. */
export function syntaxError(data: Uint8Array): string | undefined {
  const scanner = new Scanner();
  for (const c of data) {
    if (scanner.step(scanner, c) === Scan.Error) return scanner.error;
  }
  return scanner.eof() === Scan.Error ? scanner.error : undefined;
}
