// Checks for values decoded from the wire. msgpack gives back `unknown`; these narrow it to the
// exact types raft expects or throw FrameError naming the field, so a malformed peer can never
// hand raft a half-built Message (STYLE.md: parse external input at the edge).

import { FrameError } from './errors.js';

/** etcd member ids are random uint64s. */
export const UINT64_MAX = 0xffff_ffff_ffff_ffffn;

const EMPTY_BYTES = new Uint8Array(0);

export function readArray(value: unknown, field: string, length?: number): unknown[] {
  if (!Array.isArray(value)) throw new FrameError(`${field}: expected an array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new FrameError(`${field}: expected ${length} elements, got ${value.length}`);
  }
  return value;
}

/** A non-negative safe integer (terms, indexes, group ids, byte counts). */
export function readCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FrameError(`${field}: expected a non-negative safe integer, got ${describe(value)}`);
  }
  return value;
}

/** A uint64 id. The encoder always writes bigints as msgpack int64/uint64, which decode to bigint. */
export function readId(value: unknown, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > UINT64_MAX) {
    throw new FrameError(`${field}: expected a uint64 id, got ${describe(value)}`);
  }
  return value;
}

export function readIds(value: unknown, field: string): bigint[] {
  const array = readArray(value, field);
  const ids: bigint[] = new Array(array.length);
  for (let i = 0; i < array.length; i++) ids[i] = readId(array[i], `${field}[${i}]`);
  return ids;
}

export function readBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean')
    throw new FrameError(`${field}: expected a boolean, got ${describe(value)}`);
  return value;
}

/**
 * msgpack `bin` decodes to a Node Buffer viewing the frame. Raft's types say Uint8Array, and tests
 * compare structurally, so hand out a plain Uint8Array over the same bytes (no copy).
 */
export function readBytes(value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new FrameError(`${field}: expected bytes, got ${describe(value)}`);
  if (value.length === 0) return EMPTY_BYTES;
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function isUint64(value: bigint): boolean {
  return value >= 0n && value <= UINT64_MAX;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string of ${value.length}`;
  return `${typeof value} ${String(value)}`;
}
