// WAL append throughput with group commit: appends per second and entries per fsync at batch
// sizes 1, 16 and 256, 256-byte entries, on the real disk in a temp dir.

import { performance } from 'node:perf_hooks';
import { type Entry, EntryType } from '../../src/raft/types.js';
import { NodeDisk } from '../../src/storage/disk.js';
import { Wal } from '../../src/storage/wal.js';
import { formatCount, printTable, round } from './table.js';
import { withTempDir } from './temp-dir.js';

const ENTRY_BYTES = 256;
const BATCH_SIZES = [1, 16, 256];

export interface WalRow {
  readonly batch: number;
  readonly entries: number;
  readonly fsyncs: number;
  readonly seconds: number;
  readonly p50SyncMs: number;
}

export interface WalSummary {
  readonly entryBytes: number;
  readonly rowMs: number;
  readonly rows: readonly {
    readonly batch: number;
    readonly entriesPerSecond: number;
    readonly entriesPerFsync: number;
    readonly p50FsyncMs: number;
  }[];
}

function runRow(batch: number, rowMs: number): Promise<WalRow> {
  return withTempDir('flotilla-bench-wal-', (dir) => {
    const { wal } = Wal.open({ disk: new NodeDisk(), dir, clusterId: 1n, groupId: 0 });
    const data = new Uint8Array(ENTRY_BYTES).fill(0x5a);
    const entries: Entry[] = [];
    const latencies: number[] = [];
    const fsyncsBefore = wal.stats.fsyncs;
    const start = performance.now();
    let index = 0;
    while (performance.now() - start < rowMs) {
      entries.length = 0;
      for (let i = 0; i < batch; i++) entries.push({ term: 1, index: ++index, type: EntryType.Normal, data });
      wal.append(entries, { term: 1, vote: 0n, commit: index - batch });
      latencies.push(wal.sync());
    }
    const seconds = (performance.now() - start) / 1000;
    const fsyncs = wal.stats.fsyncs - fsyncsBefore;
    wal.close();
    latencies.sort((a, b) => a - b);
    return {
      batch,
      entries: index,
      fsyncs,
      seconds,
      p50SyncMs: latencies[Math.floor(latencies.length / 2)]!,
    };
  });
}

export async function benchWal(rowMs: number): Promise<WalSummary> {
  const rows: WalRow[] = [];
  for (const batch of BATCH_SIZES) rows.push(await runRow(batch, rowMs));
  printTable(
    `WAL group commit: ${ENTRY_BYTES}-byte entries, ~${rowMs} ms per row`,
    [
      { title: 'batch' },
      { title: 'entries/s' },
      { title: 'MiB/s' },
      { title: 'entries/fsync' },
      { title: 'fsyncs/s' },
      { title: 'p50 fsync ms' },
    ],
    rows.map((row) => {
      const perSecond = row.entries / row.seconds;
      return [
        String(row.batch),
        formatCount(perSecond),
        ((perSecond * ENTRY_BYTES) / (1024 * 1024)).toFixed(1),
        (row.entries / row.fsyncs).toFixed(1),
        formatCount(row.fsyncs / row.seconds),
        row.p50SyncMs.toFixed(3),
      ];
    }),
  );
  return {
    entryBytes: ENTRY_BYTES,
    rowMs,
    rows: rows.map((row) => ({
      batch: row.batch,
      entriesPerSecond: Math.round(row.entries / row.seconds),
      entriesPerFsync: round(row.entries / row.fsyncs, 1),
      p50FsyncMs: round(row.p50SyncMs, 3),
    })),
  };
}
