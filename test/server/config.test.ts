// Flags, environment and config file: etcd's names, validated at the edge with messages that
// name the flag.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseServerConfig } from '../../src/server/config.js';

test('defaults follow etcd: name default, client 2379, peer 2380, 1.5 MiB requests, 128 txn ops, snapshots every 100,000 entries', () => {
  const config = parseServerConfig([], {});
  assert.equal(config.name, 'default');
  assert.equal(config.listenClientUrls[0].port, '2379');
  assert.equal(config.listenPeerUrls[0].port, '2380');
  assert.equal(config.maxRequestBytes, 1.5 * 1024 * 1024);
  assert.equal(config.maxTxnOps, 128);
  assert.equal(config.quotaBackendBytes, 2 * 1024 ** 3);
  assert.equal(config.snapshotCount, 100_000);
  assert.equal(config.snapshotCatchUpEntries, 5_000);
  assert.equal(config.snapshotLogBytes, 64 * 1024 * 1024);
  assert.deepEqual(config.initialCluster, [{ name: 'default', peerUrl: 'http://localhost:2380' }]);
});

test('client limits: defaults, and each one settable by its flag', () => {
  const defaults = parseServerConfig([], {});
  assert.deepEqual(
    [
      defaults.maxClientConnections,
      defaults.maxConcurrentStreams,
      defaults.maxWatchersPerStream,
      defaults.maxPendingWatchEvents,
      defaults.maxLeaseGrantsPerSecond,
    ],
    [10_000, 4_294_967_295, 10_000, 1024, 20_000],
  );
  const set = parseServerConfig(
    [
      '--max-client-connections=5',
      '--max-concurrent-streams=6',
      '--max-watchers-per-stream=7',
      '--max-pending-watch-events=8',
      '--max-lease-grants-per-second=9',
    ],
    {},
  );
  assert.deepEqual(
    [
      set.maxClientConnections,
      set.maxConcurrentStreams,
      set.maxWatchersPerStream,
      set.maxPendingWatchEvents,
      set.maxLeaseGrantsPerSecond,
    ],
    [5, 6, 7, 8, 9],
  );
});

test('flags win over FLOTILLA_* environment variables, which win over the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-config-'));
  const file = join(dir, 'flotilla.json');
  writeFileSync(file, JSON.stringify({ name: 'from-file', 'max-txn-ops': 7, 'snapshot-count': 99 }));
  const config = parseServerConfig(
    ['--config-file', file, '--name=from-flag', '--initial-cluster=from-flag=http://127.0.0.1:2380'],
    {
      FLOTILLA_NAME: 'from-env',
      FLOTILLA_MAX_TXN_OPS: '9',
    },
  );
  assert.equal(config.name, 'from-flag');
  assert.equal(config.maxTxnOps, 9);
  assert.equal(config.snapshotCount, 99);
});

for (const [args, message] of [
  [['--listen-client-urls=localhost:2379'], /--listen-client-urls: 'localhost:2379'/],
  [['--listen-peer-urls=http://127.0.0.1'], /needs an explicit port/],
  [['--initial-cluster-state=sideways'], /--initial-cluster-state: 'sideways' must be 'new' or 'existing'/],
  [['--max-txn-ops=0'], /--max-txn-ops: '0' must be a positive integer/],
  [['--max-client-connections=0'], /--max-client-connections: '0' must be a positive integer/],
  [
    ['--max-concurrent-streams=4294967296'],
    /--max-concurrent-streams: '4294967296' must be at most 4294967295/,
  ],
  [['--max-lease-grants-per-second=1.5'], /--max-lease-grants-per-second: '1.5' must be a positive integer/],
  [['--election-timeout=200'], /--election-timeout \(200 ms\) must be at least 5 times --heartbeat-interval/],
  [
    ['--initial-cluster=other=http://127.0.0.1:2380'],
    /--initial-cluster does not name this member \('default'\)/,
  ],
  [['--no-such-flag'], /Unknown option '--no-such-flag'/],
] as const) {
  test(`bad input is refused with a message naming the flag: ${args.join(' ')}`, () => {
    assert.throws(
      () => parseServerConfig(args, {}),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
    );
  });
}
