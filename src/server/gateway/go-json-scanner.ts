// The JSON syntax state machine of Go's encoding/json (scanner.go, Go 1.19, what etcd 3.4.23 is
// built with), ported byte for byte so that syntax errors carry Go's exact text. go-json.ts
// drives it the way json.Decoder and json.Unmarshal do.

import { goQuoteChar } from './go-text.js';

/** encoding/json maxNestingDepth. */
const MAX_NESTING_DEPTH = 10_000;

export enum Scan {
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

export class Scanner {
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

export const SPACE = 0x20;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

function beginValue(s: Scanner, c: number): Scan {
  if (isSpace(c)) return Scan.SkipSpace;
  if (c === 0x7b /* { */) {
    s.step = beginStringOrEmpty;
    return s.push(c, Parse.ObjectKey, Scan.BeginObject);
  }
  if (c === 0x5b /* [ */) {
    s.step = beginValueOrEmpty;
    return s.push(c, Parse.ArrayValue, Scan.BeginArray);
  }
  const next = literalStart(c);
  if (next === undefined) return s.fail(c, 'looking for beginning of value');
  s.step = next;
  return Scan.BeginLiteral;
}

/** The state after the first byte of a string, number, true, false or null. */
function literalStart(c: number): Step | undefined {
  if (c === 0x22 /* " */) return inString;
  if (c === 0x2d /* - */) return negative;
  if (c === 0x30 /* 0 */) return zero;
  if (c >= 0x31 && c <= 0x39) return digits;
  if (c === 0x74 /* t */) return literal('true', 1);
  if (c === 0x66 /* f */) return literal('false', 1);
  if (c === 0x6e /* n */) return literal('null', 1);
  return undefined;
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

export function endValue(s: Scanner, c: number): Scan {
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
