// Process memory snapshots for the benchmark: V8 heap, RSS, and — on Linux — RSS split into
// anonymous pages and file-backed pages, because LMDB reads through a memory map and every page
// of the data file the process touches shows up in RSS as file-backed (reclaimable) memory.

import * as fs from 'node:fs';

export interface MemorySnapshot {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
  /** Linux only (/proc/self/status RssAnon); null elsewhere. */
  readonly rssAnonBytes: number | null;
  /** Linux only (/proc/self/status RssFile): mostly the LMDB map. */
  readonly rssFileBytes: number | null;
}

/** Whether a full collection can be forced: needs `node --expose-gc`. */
export function gcAvailable(): boolean {
  return typeof globalThis.gc === 'function';
}

/** Collects garbage if possible (so heap figures are live data, not garbage), then measures. */
export function snapshotMemory(): MemorySnapshot {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  const status = readProcStatus();
  return {
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
    rssAnonBytes: status?.get('RssAnon') ?? null,
    rssFileBytes: status?.get('RssFile') ?? null,
  };
}

/** Peak resident set size of the process so far. */
export function maxRssBytes(): number {
  // process.resourceUsage().maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS * 1024;
}

/** The "Name:   1234 kB" lines of /proc/self/status, in bytes; undefined where there is no procfs. */
function readProcStatus(): Map<string, number> | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/status', 'utf8');
  } catch (error) {
    // Not Linux (no procfs): the split is optional, the portable figures above still stand.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (match !== null) fields.set(match[1]!, Number(match[2]) * 1024);
  }
  return fields;
}
