// Memory and disk for a large key space: loads N distinct keys (1,000,000 by default) through
// applyBatch into a fresh store and reports load time, applies per second, process memory before
// and after (after a forced GC when `node --expose-gc` allows it), and the LMDB files' size.
// The load is bounded by LOAD_LIMIT_MS: if the machine is too slow it stops early and says so.
// Keys go in ascending order, the B-tree's best case: scattered keys apply ~2.5x slower (the
// MVCC section's put rows show that cost).

import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type ApplyEntry, MvccStore } from '../../src/mvcc/index.js';
import { assert } from '../../src/raft/assert.js';
import { benchKey, benchValue, KEY_BYTES, VALUE_BYTES } from './keys.js';
import { gcAvailable, type MemorySnapshot, maxRssBytes, snapshotMemory } from './memory.js';
import { formatCount, printTable, round } from './table.js';
import { type DiskUsage, diskUsage, withTempDir } from './temp-dir.js';

const LOAD_BATCH_ENTRIES = 1000;
/** Keeps the whole benchmark well under two minutes on a small (2-core) machine. */
const LOAD_LIMIT_MS = 75_000;

export interface LoadSummary {
  readonly keysRequested: number;
  readonly keysLoaded: number;
  /** True when LOAD_LIMIT_MS stopped the load before every key was in. */
  readonly truncated: boolean;
  readonly batchEntries: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly seconds: number;
  readonly appliesPerSecond: number;
  readonly gcExposed: boolean;
  readonly memoryMiB: {
    readonly before: MemoryFigures;
    readonly afterLoad: MemoryFigures;
    readonly afterClose: MemoryFigures;
    readonly peakRss: number;
  };
  readonly disk: {
    readonly files: readonly string[];
    readonly apparentMiB: number;
    readonly allocatedMiB: number;
    readonly userDataMiB: number;
    readonly allocatedBytesPerKey: number;
  };
}

interface MemoryFigures {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly rssAnon: number | null;
  readonly rssFile: number | null;
}

function toMiB(bytes: number): number {
  return round(bytes / (1024 * 1024), 1);
}

function figures(m: MemorySnapshot): MemoryFigures {
  return {
    rss: toMiB(m.rssBytes),
    heapUsed: toMiB(m.heapUsedBytes),
    external: toMiB(m.externalBytes),
    rssAnon: m.rssAnonBytes === null ? null : toMiB(m.rssAnonBytes),
    rssFile: m.rssFileBytes === null ? null : toMiB(m.rssFileBytes),
  };
}

/** Applies keys [0, keyCount) in batches; returns how many went in before the time limit. */
function load(store: MvccStore, keyCount: number): number {
  const value = benchValue();
  const start = performance.now();
  const entries: ApplyEntry[] = [];
  let loaded = 0;
  while (loaded < keyCount && performance.now() - start < LOAD_LIMIT_MS) {
    entries.length = 0;
    const firstIndex = store.appliedIndex() + 1;
    const batchEnd = Math.min(loaded + LOAD_BATCH_ENTRIES, keyCount);
    // Keys are made per batch, not up front, so the heap figures show the store, not the input.
    for (let i = loaded; i < batchEnd; i++) {
      entries.push({
        index: firstIndex + (i - loaded),
        request: { type: 'put', put: { key: benchKey(i), value } },
      });
    }
    for (const result of store.applyBatch(entries)) assert(result.status === 'applied', 'load put failed');
    loaded = batchEnd;
  }
  return loaded;
}

export function benchLoad(keyCount: number): Promise<LoadSummary> {
  return withTempDir('flotilla-bench-load-', async (dir) => {
    const storePath = path.join(dir, 'store');
    const before = snapshotMemory();
    const store = MvccStore.open({ path: storePath });
    let keysLoaded: number;
    let seconds: number;
    let afterLoad: MemorySnapshot;
    try {
      const start = performance.now();
      keysLoaded = load(store, keyCount);
      seconds = (performance.now() - start) / 1000;
      assert(store.currentRevision() === 1 + keysLoaded, 'one revision per loaded key');
      afterLoad = snapshotMemory();
    } finally {
      await store.close();
    }
    const afterClose = snapshotMemory();
    const disk = diskUsage(storePath);
    const summary = summarize(keyCount, keysLoaded, seconds, before, afterLoad, afterClose, disk);
    printLoad(summary);
    return summary;
  });
}

function summarize(
  keysRequested: number,
  keysLoaded: number,
  seconds: number,
  before: MemorySnapshot,
  afterLoad: MemorySnapshot,
  afterClose: MemorySnapshot,
  disk: DiskUsage,
): LoadSummary {
  return {
    keysRequested,
    keysLoaded,
    truncated: keysLoaded < keysRequested,
    batchEntries: LOAD_BATCH_ENTRIES,
    keyBytes: KEY_BYTES,
    valueBytes: VALUE_BYTES,
    seconds: round(seconds, 2),
    appliesPerSecond: Math.round(keysLoaded / seconds),
    gcExposed: gcAvailable(),
    memoryMiB: {
      before: figures(before),
      afterLoad: figures(afterLoad),
      afterClose: figures(afterClose),
      peakRss: toMiB(maxRssBytes()),
    },
    disk: {
      files: disk.files,
      apparentMiB: toMiB(disk.apparentBytes),
      allocatedMiB: toMiB(disk.allocatedBytes),
      userDataMiB: toMiB(keysLoaded * (KEY_BYTES + VALUE_BYTES)),
      allocatedBytesPerKey: keysLoaded === 0 ? 0 : Math.round(disk.allocatedBytes / keysLoaded),
    },
  };
}

function printLoad(s: LoadSummary): void {
  const m = s.memoryMiB;
  const cell = (value: number | null) => (value === null ? 'n/a' : value.toFixed(1));
  const keys = `${formatCount(s.keysLoaded)}${s.truncated ? ` of ${formatCount(s.keysRequested)} (time limit)` : ''}`;
  printTable(
    `Load ${keys} distinct keys: ${s.keyBytes}-byte keys, ${s.valueBytes}-byte values, ` +
      `applyBatch of ${formatCount(s.batchEntries)}, ascending key order`,
    [{ title: 'measure', left: true }, { title: 'value' }],
    [
      ['elapsed s', s.seconds.toFixed(2)],
      ['applies/s', formatCount(s.appliesPerSecond)],
      ['LMDB files', s.disk.files.join(', ')],
      ['disk, apparent MiB', s.disk.apparentMiB.toFixed(1)],
      ['disk, allocated MiB', s.disk.allocatedMiB.toFixed(1)],
      ['user data (keys + values) MiB', s.disk.userDataMiB.toFixed(1)],
      ['allocated bytes per key', formatCount(s.disk.allocatedBytesPerKey)],
    ],
  );
  printTable(
    `Memory, MiB (${s.gcExposed ? 'after global.gc()' : 'no forced GC: run node --expose-gc for live-heap figures'})`,
    [
      { title: 'when', left: true },
      { title: 'RSS' },
      { title: 'RSS anon' },
      { title: 'RSS file' },
      { title: 'heap used' },
      { title: 'external' },
    ],
    (
      [
        ['before open', m.before],
        ['after load, store open', m.afterLoad],
        ['after close', m.afterClose],
      ] as const
    ).map(([label, f]) => [
      label,
      cell(f.rss),
      cell(f.rssAnon),
      cell(f.rssFile),
      cell(f.heapUsed),
      cell(f.external),
    ]),
  );
  console.log(
    `peak RSS ${m.peakRss.toFixed(1)} MiB (RSS file = pages of the LMDB map the process has touched)`,
  );
}
