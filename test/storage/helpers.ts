// Shared helpers for storage tests: temp directories and deterministic entries.
// (The test runner also loads this file as a test file; it only defines functions.)

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Entry, EntryType } from '../../src/raft/types.js';

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-storage-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Entry data derived from (index, term), so a reader can check content without a copy. */
export function entryData(index: number, term: number, bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return data;
}

export function makeEntry(index: number, term: number, bytes = 16): Entry {
  return { index, term, type: EntryType.Normal, data: entryData(index, term, bytes) };
}

export function makeEntries(first: number, count: number, term: number, bytes = 16): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) entries.push(makeEntry(first + i, term, bytes));
  return entries;
}

/** A seeded generator in [0, 1) for SimDisk (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
