// WAL append throughput with group commit: appends per second and entries per fsync at batch
// sizes 1, 16 and 256, 256-byte entries, on the real disk in a temp dir. Not a test: numbers
// depend on the machine. Run: node dist/bench/storage.js  (BENCH_ROW_MS changes the row time).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Entry, EntryType } from '../src/raft/types.js';
import { NodeDisk } from '../src/storage/disk.js';
import { Wal } from '../src/storage/wal.js';

const ENTRY_BYTES = 256;
const BATCH_SIZES = [1, 16, 256];
const ROW_MS = Number(process.env.BENCH_ROW_MS ?? 2000);

interface Row {
  batch: number;
  entries: number;
  fsyncs: number;
  seconds: number;
  p50SyncMs: number;
}

function runRow(batch: number): Row {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-wal-'));
  try {
    const { wal } = Wal.open({ disk: new NodeDisk(), dir, clusterId: 1n, groupId: 0 });
    const data = new Uint8Array(ENTRY_BYTES).fill(0x5a);
    const entries: Entry[] = [];
    const latencies: number[] = [];
    const fsyncsBefore = wal.stats.fsyncs;
    const start = performance.now();
    let index = 0;
    while (performance.now() - start < ROW_MS) {
      entries.length = 0;
      for (let i = 0; i < batch; i++) entries.push({ term: 1, index: ++index, type: EntryType.Normal, data });
      wal.append(entries, { term: 1, vote: 0n, commit: index - batch });
      latencies.push(wal.sync());
    }
    const seconds = (performance.now() - start) / 1000;
    const fsyncs = wal.stats.fsyncs - fsyncsBefore;
    wal.close();
    latencies.sort((a, b) => a - b);
    return { batch, entries: index, fsyncs, seconds, p50SyncMs: latencies[Math.floor(latencies.length / 2)] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  console.log(`WAL group commit, ${ENTRY_BYTES}-byte entries, ~${ROW_MS} ms per row, ${os.tmpdir()}`);
  console.log('batch | entries/s | MiB/s  | entries/fsync | fsyncs/s | p50 fsync ms');
  console.log('------|-----------|--------|---------------|----------|-------------');
  for (const batch of BATCH_SIZES) {
    const row = runRow(batch);
    const perSecond = row.entries / row.seconds;
    console.log(
      [
        String(row.batch).padStart(5),
        perSecond.toFixed(0).padStart(9),
        ((perSecond * ENTRY_BYTES) / (1024 * 1024)).toFixed(1).padStart(6),
        (row.entries / row.fsyncs).toFixed(1).padStart(13),
        (row.fsyncs / row.seconds).toFixed(0).padStart(8),
        row.p50SyncMs.toFixed(3).padStart(12),
      ].join(' | '),
    );
  }
}

main();
