// Command-line flags and environment of `npm run bench:storage`, parsed at the edge into typed
// values (STYLE.md): an unknown flag or a malformed number stops the run with a clear message.

export interface BenchOptions {
  /** `--quick`: every section ~10x smaller, for a smoke run. */
  readonly quick: boolean;
  /** Wall-clock budget of one throughput row (WAL and MVCC sections). */
  readonly rowMs: number;
  /** Distinct keys loaded by the memory-and-disk section. */
  readonly loadKeys: number;
}

const FULL_ROW_MS = 2000;
const FULL_LOAD_KEYS = 1_000_000;
const QUICK_FACTOR = 10;

export const USAGE = 'usage: node [--expose-gc] dist/bench/storage.js [--quick]   (env: BENCH_ROW_MS)';

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  let quick = false;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  const defaultRowMs = quick ? FULL_ROW_MS / QUICK_FACTOR : FULL_ROW_MS;
  const rowMs =
    env.BENCH_ROW_MS === undefined ? defaultRowMs : parsePositiveInteger('BENCH_ROW_MS', env.BENCH_ROW_MS);
  return { quick, rowMs, loadKeys: quick ? FULL_LOAD_KEYS / QUICK_FACTOR : FULL_LOAD_KEYS };
}

function parsePositiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}
