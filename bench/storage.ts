// `npm run bench:storage`: how fast is the storage below the state machine, on the real disk?
//   1. WAL group commit: appends/s and entries per fsync at batch sizes 1, 16, 256.
//   2. MVCC on LMDB: applies/s for single puts, puts in batches of 64, a 3-put txn; reads/s for
//      ranges of 1 and 1,000 keys.
//   3. One million keys: load time, memory before/after, LMDB files' size on disk.
// Each section prints a table; the last line is a one-line JSON summary for recording results.
// Not a test: the numbers depend on the machine. Everything runs in temp dirs that are removed.
//
// Run:  node --expose-gc dist/bench/storage.js [--quick]
//   --expose-gc   lets section 3 force a GC so heap figures are live data (optional)
//   --quick       every section ~10x smaller (200 ms rows, 100,000 keys): a smoke run
//   BENCH_ROW_MS  overrides the time per throughput row (default 2000, quick 200)

import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { benchLoad } from './support/million-keys.js';
import { benchMvcc } from './support/mvcc-rows.js';
import { parseOptions } from './support/options.js';
import { benchWal } from './support/wal-rows.js';

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const start = performance.now();
  console.log(
    `bench:storage${options.quick ? ' --quick' : ''}: node ${process.version}, ${os.cpus().length} CPUs, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, temp dir ${os.tmpdir()}`,
  );
  const wal = await benchWal(options.rowMs);
  const mvcc = await benchMvcc(options.rowMs);
  const oneMillionKeys = await benchLoad(options.loadKeys);
  console.log(`\ntotal ${((performance.now() - start) / 1000).toFixed(1)} s`);
  console.log(JSON.stringify({ wal, mvcc, oneMillionKeys }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
