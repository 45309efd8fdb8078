// What the harness asks the load generator child process to do, and what it answers. Everything
// here crosses the IPC channel as JSON, so it is plain data: addresses, counts and durations.
// The generator builds and encodes every request body itself, before the timed window.

/** Keys `${prefix}${index zero-padded to digits}` for index in [first, first + count). */
export interface KeySpace {
  readonly prefix: string;
  readonly digits: number;
  readonly first: number;
  readonly count: number;
}

/** Connections to one member's client address. */
export interface Target {
  readonly address: string;
  readonly connections: number;
}

export type RequestSpec =
  /** Put of a random key of the space, with the benchmark's fixed value. */
  | { readonly op: 'put'; readonly keys: KeySpace; readonly valueBytes: number }
  /** Range of one random key of the space. */
  | { readonly op: 'get'; readonly keys: KeySpace; readonly serializable: boolean }
  /** Range of every key under a prefix (range_end = prefix + 1). */
  | { readonly op: 'range-prefix'; readonly prefix: string }
  /** Txn: if value(key) == the fixed value then put(key, the fixed value); must keep succeeding. */
  | { readonly op: 'txn-cas'; readonly keys: KeySpace; readonly valueBytes: number }
  | { readonly op: 'lease-grant'; readonly ttlSeconds: number }
  /** Txns of up to putsPerTxn puts, each key of the space once, in order (preloading). */
  | {
      readonly op: 'txn-load';
      readonly keys: KeySpace;
      readonly valueBytes: number;
      readonly putsPerTxn: number;
    };

/** Closed loop of unary calls: `inFlight` requests outstanding, each completion starts the next. */
export interface UnaryJob {
  readonly kind: 'unary';
  readonly request: RequestSpec;
  readonly targets: readonly Target[];
  readonly inFlight: number;
  readonly warmupMs: number;
  readonly measureMs: number;
}

/** Sends every body of a 'txn-load' request once, `inFlight` at a time; not timed per request. */
export interface PreloadJob {
  readonly kind: 'preload';
  readonly request: RequestSpec & { readonly op: 'txn-load' };
  readonly targets: readonly Target[];
  readonly inFlight: number;
}

/** Lease keepalives on long-lived LeaseKeepAlive streams, a fixed number outstanding. */
export interface KeepAliveJob {
  readonly kind: 'keepalive';
  readonly target: Target;
  readonly inFlight: number;
  readonly leases: number;
  readonly ttlSeconds: number;
  readonly warmupMs: number;
  readonly measureMs: number;
}

/** Watchers on one prefix; puts one at a time; time from a put's ack to the last watcher's event. */
export interface WatchJob {
  readonly kind: 'watch';
  readonly putAddress: string;
  readonly watchTargets: readonly Target[];
  readonly watchers: number;
  readonly prefix: string;
  readonly putsMax: number;
  readonly warmupMs: number;
  readonly measureMs: number;
}

export type LoadJob = UnaryJob | PreloadJob | KeepAliveJob | WatchJob;

export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface JobResult {
  /** Operations completed inside the measured window (watch: events delivered). */
  readonly ops: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly windowSeconds: number;
  readonly latency: LatencySummary | null;
  /** Job-specific counts (e.g. puts in the watch row, leases revoked afterwards). */
  readonly details: Readonly<Record<string, number>>;
}

export type ParentMessage = { readonly type: 'run'; readonly job: LoadJob };

export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'window'; readonly phase: 'start' | 'end' }
  | { readonly type: 'result'; readonly result: JobResult }
  | { readonly type: 'failed'; readonly message: string };

export function keyName(keys: KeySpace, index: number): string {
  if (!Number.isSafeInteger(index) || index < keys.first || index >= keys.first + keys.count) {
    throw new Error(`key index ${index} outside [${keys.first}, ${keys.first + keys.count})`);
  }
  const digits = String(index);
  if (digits.length > keys.digits)
    throw new Error(`key index ${index} needs more than ${keys.digits} digits`);
  return keys.prefix + digits.padStart(keys.digits, '0');
}
