// Loads keys before the rows that read them (and for the memory section): Txn batches of at most
// 100 puts (etcd refuses more than 128 operations per Txn by default), a few batches in flight,
// sent to the leader by the load generator.

import type { BenchCluster } from './clusters.js';
import type { LoadGenerator } from './loadgen-client.js';
import type { KeySpace } from './loadgen-jobs.js';

export const PUTS_PER_TXN = 100;
const PRELOAD_IN_FLIGHT = 4;
const PRELOAD_CONNECTIONS = 2;
/** Keys loaded per second we always expect to beat; sets the job's time bound. */
const SLOWEST_KEYS_PER_SECOND = 1_000;
const PRELOAD_BOUND_FLOOR_MS = 60_000;
const MS_PER_SECOND = 1_000;

export interface PreloadFigures {
  readonly keys: number;
  readonly seconds: number;
  readonly keysPerSecond: number;
}

export async function preload(
  cluster: BenchCluster,
  generator: LoadGenerator,
  keys: KeySpace,
  valueBytes: number,
): Promise<PreloadFigures> {
  const leader = cluster.address(await cluster.leaderIndex());
  const boundMs = Math.max(PRELOAD_BOUND_FLOOR_MS, (keys.count / SLOWEST_KEYS_PER_SECOND) * MS_PER_SECOND);
  const result = await generator.run(
    {
      kind: 'preload',
      request: { op: 'txn-load', keys, valueBytes, putsPerTxn: PUTS_PER_TXN },
      targets: [{ address: leader, connections: PRELOAD_CONNECTIONS }],
      inFlight: PRELOAD_IN_FLIGHT,
    },
    boundMs,
  );
  if (result.errors > 0 || result.ops === 0) {
    throw new Error(
      `preloading ${keys.count} keys '${keys.prefix}…' into ${cluster.system} failed: ${result.errors} errors, first: ${result.firstError}`,
    );
  }
  return {
    keys: keys.count,
    seconds: result.windowSeconds,
    keysPerSecond: keys.count / result.windowSeconds,
  };
}
