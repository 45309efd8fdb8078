// Every client-facing limit of `flotilla serve`, exceeded on purpose against a real member started
// with small values: the client over the limit gets the documented answer, and the member keeps
// serving everyone else (docs/limits.md). Request bytes and txn ops are compared with etcd itself
// in test/compat/limits.test.ts.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { FlotillaCluster, waitFor } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';
import {
  accepted,
  connect,
  FrameReader,
  grpcFrame,
  methodDefinition,
  openCall,
} from '../support/raw-grpc.js';

// High enough that the harness's own readiness polling (grpc-js keeps a closed client's connection
// for a while) stays below it; the test then opens more than this many connections itself.
const MAX_CLIENT_CONNECTIONS = 64;
const CONNECTIONS_OVER_LIMIT = 16;
const MAX_CONCURRENT_STREAMS = 3;
const MAX_WATCHERS_PER_STREAM = 2;
const MAX_PENDING_WATCH_EVENTS = 4;
const MAX_LEASE_GRANTS_PER_SECOND = 1;
const WAIT_MS = 10_000;
/** Lingering client connections may hold the member at its connection limit this long. */
const CONNECTIONS_FREED_MS = 30_000;

/** A Put on a fresh connection succeeds: the member still serves clients that are within limits. */
async function assertServes(cluster: FlotillaCluster, key: string, timeoutMs = WAIT_MS): Promise<void> {
  await waitFor(`a put of ${key}`, timeoutMs, async () => {
    const client = new EtcdClient(cluster.address(0));
    try {
      const answer = await client.put({ key: Buffer.from(key), value: Buffer.from('v') });
      return 'response' in answer ? true : undefined;
    } finally {
      client.close();
    }
  });
}

describe('limits of a member, exceeded', () => {
  let cluster: FlotillaCluster;
  before(async () => {
    cluster = await FlotillaCluster.start(
      1,
      [
        `--max-client-connections=${MAX_CLIENT_CONNECTIONS}`,
        `--max-concurrent-streams=${MAX_CONCURRENT_STREAMS}`,
        `--max-watchers-per-stream=${MAX_WATCHERS_PER_STREAM}`,
        `--max-pending-watch-events=${MAX_PENDING_WATCH_EVENTS}`,
        `--max-lease-grants-per-second=${MAX_LEASE_GRANTS_PER_SECOND}`,
      ],
      { metrics: true },
    );
  });
  after(async () => {
    await cluster?.stop();
  });

  test('--max-client-connections: connections beyond it are closed at once, logged once per burst', async () => {
    const total = MAX_CLIENT_CONNECTIONS + CONNECTIONS_OVER_LIMIT;
    const sessions = Array.from({ length: total }, () => connect(cluster.address(0)));
    try {
      const outcomes = await Promise.all(sessions.map(accepted));
      const acceptedCount = outcomes.filter(Boolean).length;
      assert.ok(acceptedCount <= MAX_CLIENT_CONNECTIONS, `${acceptedCount} connections accepted`);
      assert.ok(total - acceptedCount >= CONNECTIONS_OVER_LIMIT, `${total - acceptedCount} refused`);
    } finally {
      for (const session of sessions) session.destroy();
    }
    await assertServes(cluster, 'after-connections', CONNECTIONS_FREED_MS);
    const output = cluster.members[0].output;
    const refusedCounts = [...output.matchAll(/"refused":(\d+),"msg":"accepting client connections again"/g)];
    const refusedTotal = refusedCounts.reduce((sum, match) => sum + Number(match[1]), 0);
    const startLines = output.match(/refusing client connections/g)?.length ?? 0;
    // One line at each end of a burst, however many connections the burst refused.
    assert.ok(refusedTotal >= CONNECTIONS_OVER_LIMIT, output);
    assert.equal(startLines, refusedCounts.length, output);
    assert.ok(startLines <= 2, output);
  });

  test('--max-concurrent-streams: advertised in SETTINGS; a stream beyond it is refused', async () => {
    const session = connect(cluster.address(0));
    try {
      const settingsArrived = accepted(session);
      // Opened before the server's SETTINGS arrive: a client that knew the limit would queue the
      // last stream itself, and the server's enforcement would go untested.
      const streams = Array.from({ length: MAX_CONCURRENT_STREAMS + 1 }, () =>
        openCall(session, '/etcdserverpb.Watch/Watch'),
      );
      assert.equal(await settingsArrived, true);
      assert.equal(session.remoteSettings.maxConcurrentStreams, MAX_CONCURRENT_STREAMS);
      const last = streams[MAX_CONCURRENT_STREAMS];
      if (!last.closed) await new Promise((resolve) => last.once('close', resolve));
      assert.equal(last.rstCode, http2.constants.NGHTTP2_REFUSED_STREAM);
      for (const open of streams.slice(0, MAX_CONCURRENT_STREAMS)) assert.equal(open.closed, false);
      await assertServes(cluster, 'after-streams');
    } finally {
      session.destroy();
    }
  });

  test('a client vanishing with open watch streams does not stop the member', async () => {
    const session = connect(cluster.address(0));
    // Streams that have sent nothing, so the member has not answered them yet: ending such a call
    // means sending headers, on a stream the vanished connection has already destroyed.
    for (let i = 0; i < 2; i++) openCall(session, '/etcdserverpb.Watch/Watch');
    await waitFor('the member to hold both watch streams', WAIT_MS, async () => {
      const text = await (await fetch(`${cluster.metricsUrl(0)}/metrics`)).text();
      return Number(/^flotilla_watch_streams\S* (\d+)/m.exec(text)?.[1] ?? 0) >= 2 ? true : undefined;
    });
    // The connection drops under open streams: destroy() closes the socket without GOAWAY,
    // RST_STREAM or END_STREAM first.
    session.destroy();
    await assertServes(cluster, 'after-vanished-client');
    assert.equal(cluster.members[0].process?.exitCode, null, cluster.members[0].output);
  });

  test('--max-watchers-per-stream: a create beyond it is answered canceled, with the reason', async () => {
    const client = new EtcdClient(cluster.address(0));
    const watch = client.watch();
    try {
      for (let i = 0; i <= MAX_WATCHERS_PER_STREAM; i++) {
        watch.send({ create_request: { key: Buffer.from(`w${i}`) } });
      }
      const answers = [];
      for (let i = 0; i <= MAX_WATCHERS_PER_STREAM; i++) {
        const next = await watch.next(WAIT_MS);
        assert.ok('response' in next, JSON.stringify(next));
        answers.push(next.response);
      }
      assert.deepEqual(
        answers.map((r) => [r.created, r.canceled]),
        [
          [true, false],
          [true, false],
          [true, true],
        ],
      );
      assert.equal(
        answers[MAX_WATCHERS_PER_STREAM].cancel_reason,
        `flotilla: too many watchers on this stream (limit ${MAX_WATCHERS_PER_STREAM})`,
      );
      // The watchers within the limit still work.
      await client.put({ key: Buffer.from('w0'), value: Buffer.from('v') });
      const event = await watch.next(WAIT_MS);
      assert.ok('response' in event && event.response.events.length === 1, JSON.stringify(event));
    } finally {
      watch.close();
      client.close();
    }
  });

  test('--max-pending-watch-events: a watcher that stops reading is caught up later, losing nothing', async () => {
    const eventCount = 64;
    const session = connect(cluster.address(0));
    const watch = methodDefinition('Watch', 'Watch');
    try {
      const stream = openCall(session, '/etcdserverpb.Watch/Watch');
      stream.write(
        grpcFrame(
          watch.requestSerialize({
            create_request: { key: Buffer.from('slow/'), range_end: Buffer.from('slow0') },
          }),
        ),
      );
      const reader = new FrameReader();
      const responses: { events: { kv: { mod_revision: string } }[]; canceled: boolean }[] = [];
      const onData = (chunk: Buffer) => {
        for (const body of reader.push(chunk))
          responses.push(watch.responseDeserialize(body) as (typeof responses)[0]);
      };
      stream.on('data', onData);
      await waitFor('the created response', WAIT_MS, async () => (responses.length > 0 ? true : undefined));
      // Stop reading: HTTP/2 flow control then backs up to the member's watch stream.
      stream.off('data', onData);
      stream.pause();
      const writer = new EtcdClient(cluster.address(0));
      try {
        for (let i = 0; i < eventCount; i++) {
          const answer = await writer.put({
            key: Buffer.from(`slow/${i}`),
            value: Buffer.alloc(32 * 1024, i),
          });
          assert.ok('response' in answer);
        }
      } finally {
        writer.close();
      }
      await waitFor('the watcher to be moved to the unsynced set', WAIT_MS, async () => {
        const text = await (await fetch(`${cluster.metricsUrl(0)}/metrics`)).text();
        const slow = Number(/^flotilla_watch_slow_watchers\S* (\d+)/m.exec(text)?.[1] ?? 0);
        return slow >= 1 ? true : undefined;
      });
      stream.on('data', onData);
      stream.resume();
      const events = () => responses.flatMap((r) => r.events);
      await waitFor(`${eventCount} events`, WAIT_MS, async () =>
        events().length >= eventCount ? true : undefined,
      );
      assert.equal(
        responses.some((r) => r.canceled),
        false,
      );
      const revisions = events().map((e) => Number(e.kv.mod_revision));
      assert.equal(revisions.length, eventCount);
      for (let i = 1; i < revisions.length; i++) assert.equal(revisions[i], revisions[i - 1] + 1);
    } finally {
      session.destroy();
    }
  });

  test('--max-lease-grants-per-second: grants beyond the rate get "etcdserver: too many requests"', async () => {
    const client = new EtcdClient(cluster.address(0));
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => client.leaseGrant({ TTL: '60', ID: '0' })),
      );
      const refused = answers.filter((a) => 'error' in a);
      assert.ok(refused.length >= 10, `${refused.length} of 20 refused`);
      for (const answer of refused) {
        assert.deepEqual('error' in answer && answer.error, {
          code: 8,
          details: 'etcdserver: too many requests',
        });
      }
      await assertServes(cluster, 'after-grants');
      await waitFor('a grant to be accepted again', WAIT_MS, async () => {
        const answer = await client.leaseGrant({ TTL: '60', ID: '0' });
        return 'response' in answer ? true : undefined;
      });
    } finally {
      client.close();
    }
  });
});
