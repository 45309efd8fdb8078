// Unit rules of the observability layer: the lag clock, health answers, latency percentiles,
// request instrumentation (free when tracing is off, children cached), and the tracing flags.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { quantileMs } from '../../src/observability/dashboard-state.js';
import { health, livez, readyz } from '../../src/observability/health.js';
import { createLogger } from '../../src/observability/logging.js';
import { NodeMetrics } from '../../src/observability/metrics.js';
import { LAG_HISTORY_BATCHES, ReplicationLagClock } from '../../src/observability/replication-lag.js';
import { RequestObserver } from '../../src/observability/requests.js';
import { Tracing, tracingConfig } from '../../src/observability/tracing.js';
import { ConfigError, parseServerConfig } from '../../src/server/config.js';

test('lag clock: a caught-up follower lags 0 s; a behind one by the age of its first missing batch', () => {
  const clock = new ReplicationLagClock();
  clock.reset(10, 1_000);
  clock.appended(15, 2_000);
  clock.appended(20, 3_000);
  assert.equal(clock.lagSeconds(20, 20, 9_000), 0);
  assert.equal(clock.lagSeconds(16, 20, 4_000), 1, 'entry 17 was appended at 3 000 ms');
  assert.equal(clock.lagSeconds(12, 20, 4_000), 2, 'entry 13 was appended at 2 000 ms');
  assert.equal(clock.lagSeconds(15, 20, 4_000), 1, 'match at a batch boundary: next batch counts');
});

test('lag clock: past its ring the lag is a lower bound, from the oldest batch kept', () => {
  const clock = new ReplicationLagClock();
  clock.reset(0, 0);
  for (let i = 1; i <= LAG_HISTORY_BATCHES + 10; i++) clock.appended(i, i);
  const last = LAG_HISTORY_BATCHES + 10;
  assert.equal(clock.lagSeconds(0, last, last), (last - 11) / 1000);
});

test('lag clock: appends that do not grow the log are ignored', () => {
  const clock = new ReplicationLagClock();
  clock.reset(5, 100);
  clock.appended(5, 900);
  clock.appended(6, 1_000);
  assert.equal(clock.lagSeconds(5, 6, 1_500), 0.5);
});

const source = (over: Partial<Parameters<typeof health>[0]> = {}) => ({
  hasLeader: () => true,
  commitIndex: () => 10,
  appliedIndex: () => 10,
  activeAlarms: () => [],
  ...over,
});

test("health: etcd's JSON, 503 with etcd's reason without a leader or with an alarm", () => {
  assert.deepEqual(health(source()), {
    status: 200,
    contentType: 'application/json',
    body: '{"health":"true","reason":""}',
  });
  const noLeader = health(source({ hasLeader: () => false }));
  assert.equal(noLeader.status, 503);
  assert.deepEqual(JSON.parse(noLeader.body), { health: 'false', reason: 'RAFT NO LEADER' });
  const alarm = health(source({ activeAlarms: () => ['NOSPACE'] }));
  assert.deepEqual(JSON.parse(alarm.body), { health: 'false', reason: 'ALARM NOSPACE' });
});

test('readyz: ready only with a leader and applied caught up with commit; livez always', () => {
  assert.equal(readyz(source()).status, 200);
  const behind = readyz(source({ appliedIndex: () => 9 }));
  assert.equal(behind.status, 503);
  assert.match(behind.body, /applied 9 < commit 10/);
  assert.equal(readyz(source({ hasLeader: () => false })).status, 503);
  assert.equal(livez().status, 200);
});

test('latency percentiles interpolate inside buckets like histogram_quantile', () => {
  const bounds = [0.001, 0.002, 0.004];
  // 10 observations: 5 under 1 ms, 5 between 2 and 4 ms.
  assert.equal(quantileMs(0.5, [5, 5, 10], bounds, 10), 1);
  assert.equal(quantileMs(0.9, [5, 5, 10], bounds, 10), 2 + 2 * 0.8);
  assert.equal(quantileMs(0.5, [0, 0, 0], bounds, 0), null);
});

test('requests: with tracing off, start reads no metadata and returns a plain start time', () => {
  const observer = new RequestObserver(null, Tracing.off(), createLogger({ level: 'error' }), 'x');
  const metadata = {
    get: (): unknown[] => {
      throw new Error('metadata must not be read when tracing is off');
    },
  };
  const token = observer.method('Put').start(metadata);
  assert.equal(typeof token, 'number');
  assert.equal(observer.method('Put'), observer.method('Put'), 'instruments are created once per RPC');
});

test('requests: counted per service, method and code; labelled children looked up once per code', async () => {
  const metrics = new NodeMetrics({ processMetrics: false });
  let labelLookups = 0;
  const labels = metrics.requests.labels.bind(metrics.requests);
  metrics.requests.labels = ((...args: Parameters<typeof labels>) => {
    labelLookups++;
    return labels(...args);
  }) as typeof metrics.requests.labels;
  const observer = new RequestObserver(metrics, Tracing.off(), createLogger({ level: 'error' }), 'x');
  const put = observer.method('Put');
  const none = { get: () => [] };
  for (let i = 0; i < 3; i++) put.finish(put.start(none), 0);
  put.finish(put.start(none), 14);
  assert.equal(labelLookups, 2, 'one lookup per (method, code), not per request');
  const text = await metrics.text();
  assert.match(text, /flotilla_grpc_requests_total\{service="etcdserverpb.KV",method="Put",code="0"\} 3/);
  assert.match(text, /flotilla_grpc_requests_total\{service="etcdserverpb.KV",method="Put",code="14"\} 1/);
  assert.match(text, /flotilla_grpc_request_duration_seconds_count\{[^}]*code="0"\} 3/);
  assert.equal((await metrics.requestTotals()).count, 4);
});

test('tracing: off unless the flag or OTEL_TRACES_EXPORTER=otlp; OTEL_SDK_DISABLED wins', () => {
  const flag = (enabled: boolean) => ({ enabled, endpoint: null });
  assert.equal(tracingConfig(flag(false), {}).enabled, false);
  assert.equal(tracingConfig(flag(true), {}).enabled, true);
  assert.equal(tracingConfig(flag(false), { OTEL_TRACES_EXPORTER: 'otlp' }).enabled, true);
  assert.equal(tracingConfig(flag(true), { OTEL_SDK_DISABLED: 'true' }).enabled, false);
  const config = parseServerConfig(['--experimental-enable-distributed-tracing=true'], {});
  assert.equal(config.distributedTracing, true);
  assert.equal(parseServerConfig([], {}).distributedTracing, false);
  assert.throws(
    () => parseServerConfig(['--experimental-enable-distributed-tracing=yes'], {}),
    (error: unknown) => error instanceof ConfigError && /must be true or false/.test(error.message),
  );
});

test('logs: JSON lines with member name, group and term; nothing below the level', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: 'info', member: 'n1', group: 0, destination });
  logger.setTermSource(() => 7);
  logger.debug('hidden');
  logger.info('leader known', { leader: 'abc' });
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]);
  assert.equal(line.msg, 'leader known');
  assert.equal(line.level, 'info');
  assert.equal(line.name, 'n1');
  assert.equal(line.group, 0);
  assert.equal(line.term, 7);
  assert.equal(line.leader, 'abc');
  assert.equal(logger.isLevelEnabled('debug'), false);
});
