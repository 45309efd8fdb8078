// Shared fixtures for the MVCC tests: a store in its own temporary directory, and byte helpers.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MvccStore, type MvccStoreOptions } from '../../src/mvcc/index.js';

export const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
export const s = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
export const ALL = new Uint8Array([0]);

export interface TempStore {
  readonly store: MvccStore;
  readonly dir: string;
  reopen(): Promise<MvccStore>;
  dispose(): Promise<void>;
}

/**
 * The key-space tests attach lease ids without granting them, so lease checks are off unless a
 * test asks for them (lease-table.test.ts does).
 */
export function openTemp(requested: Partial<MvccStoreOptions> = {}): TempStore {
  const options: Partial<MvccStoreOptions> = { leaseChecks: 'off', ...requested };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-mvcc-'));
  let store = MvccStore.open({ ...options, path: dir });
  return {
    get store() {
      return store;
    },
    dir,
    async reopen() {
      await store.close();
      store = MvccStore.open({ ...options, path: dir });
      return store;
    },
    async dispose() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `body` with a fresh store and always cleans up. */
export async function withStore(
  body: (store: MvccStore, temp: TempStore) => void | Promise<void>,
  options: Partial<MvccStoreOptions> = {},
): Promise<void> {
  const temp = openTemp(options);
  try {
    await body(temp.store, temp);
  } finally {
    await temp.dispose();
  }
}

export function keysOf(kvs: readonly { key: Uint8Array }[]): string[] {
  return kvs.map((kv) => s(kv.key));
}
