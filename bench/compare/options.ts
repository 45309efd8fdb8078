// Command-line flags of `npm run bench` (bench/compare.ts), parsed at the edge into typed values
// (STYLE.md): an unknown flag or a malformed number stops the run with a clear message.

export interface CompareOptions {
  /** `--quick`: one short round of the main rows only, small key space, no extra sections. */
  readonly quick: boolean;
  readonly rounds: number;
  /** Measured window of one row. */
  readonly measureMs: number;
  /** Load before the measured window, not counted. */
  readonly warmupMs: number;
  /** Size of the random key space for puts, gets and compare-and-set. */
  readonly keys: number;
  readonly valueBytes: number;
  /** Keys under the prefix that the range row reads in one request. */
  readonly rangeKeys: number;
  /** Watchers on one prefix in the watch fan-out row. */
  readonly watchers: number;
  /** Upper bound on puts in one watch fan-out row (the row is also bounded by its window). */
  readonly watchPutsMax: number;
  /** Only these row ids (none with `--rows none`), or every main row when null. */
  readonly rows: readonly string[] | null;
  /**
   * Both systems' --snapshot-count, or null for their defaults. Flotilla also keeps only half as
   * many entries behind a snapshot (etcd 3.4 keeps 5,000), so a small key space still makes a new
   * member catch up by snapshot rather than from the log.
   */
  readonly snapshotCount: number | null;
  readonly pipeline: boolean;
  readonly million: boolean;
  /** Keys loaded by the memory section (1,000,000 unless --million-keys says otherwise). */
  readonly millionKeys: number;
  readonly restart: boolean;
  readonly memberAdd: boolean;
  /** Where results go; null means the default for the mode (bench/results, or a temp dir with --quick). */
  readonly outDir: string | null;
}

const FULL_ROUNDS = 3;
const FULL_MEASURE_MS = 5_000;
const FULL_WARMUP_MS = 1_000;
const FULL_KEYS = 100_000;
const FULL_RANGE_KEYS = 10_000;
const FULL_WATCHERS = 1_000;
const FULL_WATCH_PUTS_MAX = 2_000;
const FULL_MILLION_KEYS = 1_000_000;
const QUICK_MEASURE_MS = 1_000;
const QUICK_WARMUP_MS = 300;
const QUICK_KEYS = 2_000;
const QUICK_RANGE_KEYS = 1_000;
const QUICK_WATCHERS = 100;
const QUICK_WATCH_PUTS_MAX = 20;
const DEFAULT_VALUE_BYTES = 256;
const MS_PER_SECOND = 1_000;

export const USAGE = `usage: node dist/bench/compare.js [flags]
  --quick               one ~1 s round of the main rows, 2,000 keys, no extra sections
  --rounds N            rounds per row, medians reported (default ${FULL_ROUNDS})
  --seconds S           measured seconds per row (default ${FULL_MEASURE_MS / MS_PER_SECOND})
  --warmup-seconds S    warm-up seconds per row (default ${FULL_WARMUP_MS / MS_PER_SECOND})
  --keys N              random key space (default ${FULL_KEYS})
  --value-bytes N       value size (default ${DEFAULT_VALUE_BYTES})
  --watchers N          watchers in the fan-out row (default ${FULL_WATCHERS})
  --rows a,b            only these main rows (ids as in the table); --rows none: no main rows
  --snapshot-count N    both systems' --snapshot-count (Flotilla also keeps N/2 entries behind
                        a snapshot), so fewer keys make a new member catch up by snapshot
  --skip-extras         skip all extra sections
  --skip-pipeline | --skip-million | --skip-restart | --skip-member-add
  --million-keys N      keys loaded by the memory section (default ${FULL_MILLION_KEYS})
  --out DIR             results directory (default bench/results; with --quick a temp dir)`;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function defaults(quick: boolean): Mutable<CompareOptions> {
  return {
    quick,
    rounds: quick ? 1 : FULL_ROUNDS,
    measureMs: quick ? QUICK_MEASURE_MS : FULL_MEASURE_MS,
    warmupMs: quick ? QUICK_WARMUP_MS : FULL_WARMUP_MS,
    keys: quick ? QUICK_KEYS : FULL_KEYS,
    valueBytes: DEFAULT_VALUE_BYTES,
    rangeKeys: quick ? QUICK_RANGE_KEYS : FULL_RANGE_KEYS,
    watchers: quick ? QUICK_WATCHERS : FULL_WATCHERS,
    watchPutsMax: quick ? QUICK_WATCH_PUTS_MAX : FULL_WATCH_PUTS_MAX,
    rows: null,
    snapshotCount: null,
    pipeline: !quick,
    million: !quick,
    millionKeys: FULL_MILLION_KEYS,
    restart: !quick,
    memberAdd: !quick,
    outDir: null,
  };
}

export function parseCompareOptions(argv: readonly string[]): CompareOptions {
  const options = defaults(argv.includes('--quick'));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return next;
    };
    applyFlag(options, flag!, value);
  }
  return options;
}

function applyFlag(options: Mutable<CompareOptions>, flag: string, value: () => string): void {
  switch (flag) {
    case '--quick':
      return;
    case '--rounds':
      options.rounds = positiveInteger(flag, value());
      return;
    case '--seconds':
      options.measureMs = positiveSeconds(flag, value());
      return;
    case '--warmup-seconds':
      options.warmupMs = positiveSeconds(flag, value());
      return;
    case '--keys':
      options.keys = positiveInteger(flag, value());
      return;
    case '--value-bytes':
      options.valueBytes = positiveInteger(flag, value());
      return;
    case '--watchers':
      options.watchers = positiveInteger(flag, value());
      return;
    case '--rows':
      options.rows = value()
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== '' && id !== 'none');
      return;
    case '--snapshot-count':
      options.snapshotCount = positiveInteger(flag, value());
      return;
    case '--million-keys':
      options.millionKeys = positiveInteger(flag, value());
      return;
    case '--out':
      options.outDir = value();
      return;
    default:
      applySkipFlag(options, flag);
  }
}

function applySkipFlag(options: Mutable<CompareOptions>, flag: string): void {
  switch (flag) {
    case '--skip-extras':
      options.pipeline = false;
      options.million = false;
      options.restart = false;
      options.memberAdd = false;
      return;
    case '--skip-pipeline':
      options.pipeline = false;
      return;
    case '--skip-million':
      options.million = false;
      return;
    case '--skip-restart':
      options.restart = false;
      return;
    case '--skip-member-add':
      options.memberAdd = false;
      return;
    default:
      throw new Error(`unknown argument ${JSON.stringify(flag)}\n${USAGE}`);
  }
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

function positiveSeconds(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${flag} must be a positive number of seconds, got ${JSON.stringify(text)}`);
  }
  return Math.round(value * MS_PER_SECOND);
}
