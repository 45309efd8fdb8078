// History files: one recorded operation per line, as JSON, so a run can be re-checked, diffed or
// read with jq long after the cluster is gone.
//
// JSON has no bigint and no bytes, and the fault lab's inputs and outputs hold both (revisions,
// lease ids, binary keys). Such values are written as one-key tagged objects so that reading the
// file gives back exactly what was written, never a rounded number:
//   bigint            {"$bigint":"18446744073709551615"}   (decimal digits, no precision lost)
//   bytes, printable  {"$utf8":"hello"}                    (valid UTF-8 without control chars)
//   bytes, otherwise  {"$base64":"AAH/"}
//   NaN, ±Infinity    {"$number":"NaN"}
// A recorded plain object that itself has exactly one key starting with "$" is wrapped as
// {"$object":{...}} so it cannot be mistaken for a tag. Bytes come back as Buffers.

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { RecordedOperation } from './report-types.js';

/** Text buffered before each write: bounds memory for very long histories. */
const WRITE_CHUNK_CHARS = 1 << 20;
/** Nesting deeper than this is a recording bug (or a cycle), not a request. */
const MAX_VALUE_DEPTH = 64;

const OUTCOMES: ReadonlySet<string> = new Set(['ok', 'fail', 'info']);
/** Throws on malformed UTF-8 instead of substituting U+FFFD; keeps a leading BOM as data. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A history file that cannot be written or read back as recorded operations. */
export class HistoryFileError extends Error {
  constructor(message: string) {
    super(`history file: ${message}`);
    this.name = 'HistoryFileError';
  }
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function writeHistory(file: string, operations: readonly RecordedOperation[]): void {
  const fd = openSync(file, 'w');
  try {
    let chunk = '';
    for (const operation of operations) {
      chunk += `${JSON.stringify(encodeOperation(operation))}\n`;
      if (chunk.length >= WRITE_CHUNK_CHARS) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

export function readHistory(file: string): RecordedOperation[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const operations: RecordedOperation[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trim() === '') continue;
    const where = `${file}:${index + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new HistoryFileError(`${where}: not JSON (${(error as Error).message})`);
    }
    operations.push(decodeOperation(parsed, where));
  }
  return operations;
}

/** True if `bytes` reads as UTF-8 text a person can see: no control characters but tab and newlines. */
export function isPrintableUtf8(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    // A fatal decoder throws exactly when the bytes are not UTF-8: that is the answer, not a fault.
    return false;
  }
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const allowedWhitespace = code === 0x09 || code === 0x0a || code === 0x0d;
    if ((code < 0x20 && !allowedWhitespace) || (code >= 0x7f && code <= 0x9f)) return false;
  }
  return true;
}

function encodeOperation(operation: RecordedOperation): { [key: string]: JsonValue } {
  const where = `operation ${operation.id}`;
  if (!Number.isFinite(operation.callMs)) throw new HistoryFileError(`${where}: non-finite callMs`);
  if (operation.returnMs !== undefined && !Number.isFinite(operation.returnMs)) {
    throw new HistoryFileError(`${where}: non-finite returnMs`);
  }
  const line: { [key: string]: JsonValue } = {
    id: operation.id,
    client: operation.client,
    workload: operation.workload,
  };
  if (operation.key !== undefined) line.key = operation.key;
  line.input = encodeValue(operation.input, `${where} input`, 0);
  if (operation.output !== undefined) line.output = encodeValue(operation.output, `${where} output`, 0);
  line.callMs = operation.callMs;
  if (operation.returnMs !== undefined) line.returnMs = operation.returnMs;
  line.outcome = operation.outcome;
  if (operation.node !== undefined) line.node = operation.node;
  if (operation.error !== undefined) line.error = operation.error;
  return line;
}

function encodeValue(value: unknown, path: string, depth: number): JsonValue {
  if (depth > MAX_VALUE_DEPTH) throw new HistoryFileError(`${path}: nested deeper than ${MAX_VALUE_DEPTH}`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : { $number: String(value) };
    case 'bigint':
      return { $bigint: value.toString(10) };
    case 'undefined':
      // Only reachable inside arrays (undefined properties are skipped), where JSON says null.
      return null;
    case 'object':
      break;
    default:
      throw new HistoryFileError(`${path}: cannot record a ${typeof value}`);
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return isPrintableUtf8(bytes) ? { $utf8: bytes.toString('utf8') } : { $base64: bytes.toString('base64') };
  }
  if (Array.isArray(value))
    return value.map((item, index) => encodeValue(item, `${path}[${index}]`, depth + 1));
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    // A Map, Date or class instance has no faithful JSON form; losing it silently would make the
    // file lie about what the client saw.
    const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    throw new HistoryFileError(`${path}: cannot record a ${name}; record plain objects, arrays or bytes`);
  }
  const encoded: { [key: string]: JsonValue } = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) encoded[key] = encodeValue(item, `${path}.${key}`, depth + 1);
  }
  return looksLikeTag(encoded) ? { $object: encoded } : encoded;
}

function looksLikeTag(object: { [key: string]: JsonValue }): boolean {
  const keys = Object.keys(object);
  return keys.length === 1 && keys[0]!.startsWith('$');
}

function decodeValue(value: unknown, where: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => decodeValue(item, where));
  const object = value as { [key: string]: unknown };
  const keys = Object.keys(object);
  if (keys.length === 1 && keys[0]!.startsWith('$')) {
    const tag = keys[0]!;
    const payload = object[tag];
    if (tag === '$object') {
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
        throw new HistoryFileError(`${where}: $object must hold an object`);
      }
      return decodeObject(payload as { [key: string]: unknown }, where);
    }
    if (typeof payload !== 'string') throw new HistoryFileError(`${where}: ${tag} must hold a string`);
    switch (tag) {
      case '$bigint':
        if (!/^-?\d+$/.test(payload)) throw new HistoryFileError(`${where}: bad $bigint ${payload}`);
        return BigInt(payload);
      case '$utf8':
        return Buffer.from(payload, 'utf8');
      case '$base64':
        return Buffer.from(payload, 'base64');
      case '$number':
        if (payload !== 'NaN' && payload !== 'Infinity' && payload !== '-Infinity') {
          throw new HistoryFileError(`${where}: bad $number ${payload}`);
        }
        return Number(payload);
      default:
        throw new HistoryFileError(`${where}: unknown tag ${tag}`);
    }
  }
  return decodeObject(object, where);
}

function decodeObject(object: { [key: string]: unknown }, where: string): { [key: string]: unknown } {
  const decoded: { [key: string]: unknown } = {};
  for (const [key, item] of Object.entries(object)) decoded[key] = decodeValue(item, where);
  return decoded;
}

function decodeOperation(parsed: unknown, where: string): RecordedOperation {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HistoryFileError(`${where}: expected an object per line`);
  }
  const line = parsed as { [key: string]: unknown };
  const id = requireInteger(line, 'id', where);
  const client = requireInteger(line, 'client', where);
  const workload = requireString(line, 'workload', where);
  const outcome = requireString(line, 'outcome', where);
  if (!OUTCOMES.has(outcome)) throw new HistoryFileError(`${where}: outcome must be ok, fail or info`);
  const callMs = requireFinite(line, 'callMs', where);
  if (!('input' in line)) throw new HistoryFileError(`${where}: missing input`);
  const key = optionalString(line, 'key', where);
  const returnMs = line.returnMs === undefined ? undefined : requireFinite(line, 'returnMs', where);
  const node = optionalString(line, 'node', where);
  const error = optionalString(line, 'error', where);
  return {
    id,
    client,
    workload,
    ...(key === undefined ? {} : { key }),
    input: decodeValue(line.input, `${where} input`),
    ...(line.output === undefined ? {} : { output: decodeValue(line.output, `${where} output`) }),
    callMs,
    ...(returnMs === undefined ? {} : { returnMs }),
    outcome: outcome as RecordedOperation['outcome'],
    ...(node === undefined ? {} : { node }),
    ...(error === undefined ? {} : { error }),
  };
}

function requireInteger(line: { [key: string]: unknown }, field: string, where: string): number {
  const value = line[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new HistoryFileError(`${where}: ${field} must be an integer`);
  }
  return value;
}

function requireFinite(line: { [key: string]: unknown }, field: string, where: string): number {
  const value = line[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new HistoryFileError(`${where}: ${field} must be a finite number`);
  }
  return value;
}

function requireString(line: { [key: string]: unknown }, field: string, where: string): string {
  const value = line[field];
  if (typeof value !== 'string') throw new HistoryFileError(`${where}: ${field} must be a string`);
  return value;
}

function optionalString(line: { [key: string]: unknown }, field: string, where: string): string | undefined {
  return line[field] === undefined ? undefined : requireString(line, field, where);
}
