// Seeded byte mutation for the fuzzers: one seed replays the same inputs. The mutations are the
// ones that break parsers — bit flips, truncation, insertions, huge varint lengths, tags with
// the wrong or an invalid wire type, invalid UTF-8 — applied to valid encodings, so most inputs
// get past the first check and reach deeper code.

/** Inputs per fuzz test: small by default (CI), raised by hand with the environment variable. */
export function fuzzBudget(variable: string, fallback: number): number {
  const text = process.env[variable];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${variable}: '${text}' must be a positive integer`);
  return value;
}

/** FLOTILLA_FUZZ_SEED replays a run; otherwise a fresh seed, printed by the tests. */
export function fuzzSeed(): number {
  const text = process.env.FLOTILLA_FUZZ_SEED;
  if (text !== undefined && text !== '') return Number(text) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** mulberry32: small, fast, good enough to pick mutations; deterministic from its seed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

/** A varint length no real message has: 2^35 - 1. */
const HUGE_VARINT = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]);
const INVALID_UTF8 = [Buffer.from([0xc3, 0x28]), Buffer.from([0xff]), Buffer.from([0xed, 0xa0, 0x80])];

type Mutation = (input: Buffer, rng: Rng) => Buffer;

const MUTATIONS: readonly Mutation[] = [
  function flipBit(input, rng) {
    if (input.length === 0) return rng.bytes(1);
    const out = Buffer.from(input);
    out[rng.int(out.length)] ^= 1 << rng.int(8);
    return out;
  },
  function setByte(input, rng) {
    if (input.length === 0) return rng.bytes(1);
    const out = Buffer.from(input);
    out[rng.int(out.length)] = rng.pick([0x00, 0xff, 0x7f, 0x80, rng.int(256)]);
    return out;
  },
  function truncate(input, rng) {
    return input.subarray(0, rng.int(input.length + 1));
  },
  function insertRandom(input, rng) {
    const at = rng.int(input.length + 1);
    return Buffer.concat([input.subarray(0, at), rng.bytes(1 + rng.int(16)), input.subarray(at)]);
  },
  function deleteRange(input, rng) {
    const at = rng.int(input.length + 1);
    return Buffer.concat([input.subarray(0, at), input.subarray(at + 1 + rng.int(8))]);
  },
  function duplicateSlice(input, rng) {
    const at = rng.int(input.length + 1);
    const slice = input.subarray(at, at + 1 + rng.int(32));
    return Buffer.concat([input.subarray(0, at), slice, slice, input.subarray(at)]);
  },
  function hugeLength(input, rng) {
    // A length-delimited field (wire type 2) declaring far more bytes than follow.
    const at = rng.int(input.length + 1);
    const tag = Buffer.from([((1 + rng.int(15)) << 3) | 2]);
    return Buffer.concat([input.subarray(0, at), tag, HUGE_VARINT, input.subarray(at)]);
  },
  function wrongWireType(input, rng) {
    // A known field number with another wire type (0-5), or the invalid ones (6, 7).
    const at = rng.int(input.length + 1);
    const tag = Buffer.from([((1 + rng.int(15)) << 3) | rng.int(8)]);
    return Buffer.concat([input.subarray(0, at), tag, rng.bytes(rng.int(9)), input.subarray(at)]);
  },
  function invalidUtf8(input, rng) {
    const at = rng.int(input.length + 1);
    return Buffer.concat([input.subarray(0, at), rng.pick(INVALID_UTF8), input.subarray(at)]);
  },
];

/** One to three mutations of `input`. */
export function mutate(input: Buffer, rng: Rng): Buffer {
  let out = input;
  const rounds = 1 + rng.int(3);
  for (let i = 0; i < rounds; i++) out = rng.pick(MUTATIONS)(out, rng);
  return out;
}
