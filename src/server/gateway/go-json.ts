// JSON syntax as Go's encoding/json checks it, with Go's error messages. etcd's gateway decodes
// request bodies with Go's json.Decoder and reports syntax errors by their Go text ("invalid
// character 'b' looking for beginning of object key string"), which clients see in the error
// body. readValue is json.Decoder's readValue (stream.go), syntaxError is json.Unmarshal's
// checkValid; the state machine is go-json-scanner.ts.

import { endValue, Scan, Scanner, SPACE } from './go-json-scanner.js';

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
