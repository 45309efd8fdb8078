// Child process for wal-crash.test.ts: appends batches to a real WAL, and after each sync
// prints "ack <lastIndex>" so the parent knows what was acknowledged durable. The parent kills
// it with SIGKILL at a random moment. Run with no arguments (as the test runner does when it
// walks dist/test) it does nothing.

import * as fs from 'node:fs';
import { NodeDisk } from '../../src/storage/disk.js';
import { Wal } from '../../src/storage/wal.js';
import { makeEntry, seededRandom } from './helpers.js';

export const CRASH_SEGMENT_BYTES_MAX = 64 * 1024;
export const CRASH_CLUSTER_ID = 0x5eedn;
/** Entry size is a function of its index so the parent can check content without a copy. */
export function crashEntryBytes(index: number): number {
  return (index * 7) % 300;
}
const ENTRIES_MAX = 1_000_000;

function main(argv: readonly string[]): void {
  const dirAt = argv.indexOf('--wal-dir');
  if (dirAt === -1) return;
  const dir = argv[dirAt + 1];
  const random = seededRandom(Number(argv[argv.indexOf('--seed') + 1] ?? 1));
  const { wal } = Wal.open({
    disk: new NodeDisk(),
    dir,
    clusterId: CRASH_CLUSTER_ID,
    groupId: 0,
    segmentBytesMax: CRASH_SEGMENT_BYTES_MAX,
  });
  while (wal.lastIndex() < ENTRIES_MAX) {
    const count = 1 + Math.floor(random() * 32);
    const first = wal.lastIndex() + 1;
    for (let index = first; index < first + count; index++)
      wal.append([makeEntry(index, 1, crashEntryBytes(index))]);
    wal.append([], { term: 1, vote: 0n, commit: wal.lastIndex() });
    wal.sync();
    // Synchronous write: the ack leaves the process only after its fsync, in order.
    fs.writeSync(1, `ack ${wal.lastIndex()}\n`);
  }
  wal.close();
}

main(process.argv.slice(2));
