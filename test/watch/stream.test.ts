import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DUPLICATE_WATCH_ID_REASON,
  EMPTY_WATCHER_RANGE_REASON,
  WatchFilter,
  WatchRequestError,
  WatchStreamOverloadedError,
} from '../../src/watch/index.js';
import {
  b,
  cancelRequest,
  createRequest,
  describe,
  eventResponses,
  HEADER,
  progressRequest,
  withWatch,
} from './helpers.js';

test('created responses: ids auto-assigned from 0 per stream, or the requested id', () =>
  withWatch((f) => {
    f.put('a', '1'); // revision 2
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'a' }));
    stream.handle(createRequest({ key: 'b', watch_id: 7 }));
    stream.handle(createRequest({ key: 'c' }));
    assert.deepEqual(
      responses.map((r) => [r.watch_id, r.created, r.canceled, r.header.revision]),
      [
        ['0', true, false, '2'],
        ['7', true, false, '2'],
        ['1', true, false, '2'],
      ],
    );
    assert.deepEqual(responses[0]!.header, { ...HEADER, revision: '2' });
    const other = f.open();
    other.stream.handle(createRequest({ key: 'a' }));
    assert.equal(other.responses[0]!.watch_id, '0', 'ids are per stream');
  }));

test('an auto-assigned id skips ids the client already chose', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'a', watch_id: 1 }));
    stream.handle(createRequest({ key: 'a' }));
    stream.handle(createRequest({ key: 'a' }));
    assert.deepEqual(
      responses.map((r) => r.watch_id),
      ['1', '0', '2'],
    );
  }));

test('a watch id already in use: created and canceled, watch_id -1, etcd reason', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'a', watch_id: 5 }));
    stream.handle(createRequest({ key: 'b', watch_id: 5 }));
    const refused = responses[1]!;
    assert.equal(refused.watch_id, '-1');
    assert.equal(refused.created, true);
    assert.equal(refused.canceled, true);
    assert.equal(refused.cancel_reason, DUPLICATE_WATCH_ID_REASON);
    assert.equal(stream.watcherCount(), 1);
  }));

test('an empty range (key >= range_end) is refused with "mvcc: watcher range is empty"', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'b', range_end: 'a' }));
    stream.handle(createRequest({ key: 'b', range_end: 'b' }));
    for (const r of responses) {
      assert.equal(r.cancel_reason, EMPTY_WATCHER_RANGE_REASON);
      assert.equal(r.watch_id, '-1');
      assert.ok(r.created && r.canceled);
    }
    assert.equal(stream.watcherCount(), 0);
  }));

test('watchers per stream are bounded by maxWatchersPerStream', () =>
  withWatch(
    (f) => {
      const { stream, responses } = f.open();
      for (let i = 0; i < 3; i++) stream.handle(createRequest({ key: 'a' }));
      assert.equal(stream.watcherCount(), 2);
      assert.equal(responses[2]!.canceled, true);
      assert.match(responses[2]!.cancel_reason, /too many watchers on this stream \(limit 2\)/);
    },
    { maxWatchersPerStream: 2 },
  ));

test('key and range_end: single key, [key, end), prefix, "\\0" and empty key', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'b' })); // 0: only "b"
    stream.handle(createRequest({ key: 'b', range_end: 'd' })); // 1: [b, d)
    stream.handle(createRequest({ key: 'c', range_end: 'd' })); // 2: prefix "c"
    stream.handle(createRequest({ key: 'c', range_end: '\0' })); // 3: >= c
    stream.handle(createRequest({ key: '', range_end: '\0' })); // 4: every key
    for (const key of ['a', 'b', 'bb', 'c', 'cx', 'd', 'z']) f.put(key, '1');
    const seen = new Map<string, string[]>();
    for (const r of eventResponses(responses)) {
      const keys = seen.get(r.watch_id) ?? [];
      keys.push(...r.events.map((e) => e.kv.key.toString()));
      seen.set(r.watch_id, keys);
    }
    assert.deepEqual(seen.get('0'), ['b']);
    assert.deepEqual(seen.get('1'), ['b', 'bb', 'c', 'cx']);
    assert.deepEqual(seen.get('2'), ['c', 'cx']);
    assert.deepEqual(seen.get('3'), ['c', 'cx', 'd', 'z']);
    assert.deepEqual(seen.get('4'), ['a', 'b', 'bb', 'c', 'cx', 'd', 'z']);
  }));

test('start_revision 0 sees only later writes; a past start replays history first', () =>
  withWatch((f) => {
    f.put('k', '1'); // 2
    f.put('k', '2'); // 3
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k' }));
    stream.handle(createRequest({ key: 'k', start_revision: 2 }));
    f.hub.drain();
    f.put('k', '3'); // 4
    assert.deepEqual(eventResponses(responses).map(describe), [
      '1@3: PUT k=1@2, PUT k=2@3',
      '0@4: PUT k=3@4',
      '1@4: PUT k=3@4',
    ]);
  }));

test('a future start_revision waits for that revision', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k', start_revision: 4 }));
    f.put('k', '1'); // 2
    f.put('k', '2'); // 3
    f.put('k', '3'); // 4
    assert.deepEqual(eventResponses(responses).map(describe), ['0@4: PUT k=3@4']);
  }));

test('filters NOPUT and NODELETE drop those events; a response left empty is not sent', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k', filters: [WatchFilter.NOPUT] }));
    stream.handle(createRequest({ key: 'k', filters: [WatchFilter.NODELETE] }));
    f.put('k', '1');
    f.del('k');
    assert.deepEqual(eventResponses(responses).map(describe), ['1@2: PUT k=1@2', '0@3: DELETE k@3']);
    assert.equal(responses.length, 4, 'two created, one event response each');
  }));

test('prev_kv: live and replayed events carry the previous key-value', () =>
  withWatch((f) => {
    f.put('k', '1'); // 2
    f.put('k', '2'); // 3
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k', prev_kv: true }));
    stream.handle(createRequest({ key: 'k', prev_kv: true, start_revision: 2 }));
    stream.handle(createRequest({ key: 'k', start_revision: 3 }));
    f.hub.drain();
    f.del('k'); // 4
    assert.deepEqual(eventResponses(responses).map(describe), [
      '1@3: PUT k=1@2, PUT k=2@3 (prev 1)',
      '2@3: PUT k=2@3',
      '0@4: DELETE k@4 (prev 2)',
      '1@4: DELETE k@4 (prev 2)',
      '2@4: DELETE k@4',
    ]);
  }));

test('all events of one revision come in one response, revisions in order', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'a', range_end: 'z' }));
    f.apply({
      type: 'txn',
      txn: {
        success: [
          { type: 'put', put: { key: b('a'), value: b('1') } },
          { type: 'put', put: { key: b('b'), value: b('1') } },
          { type: 'put', put: { key: b('c'), value: b('1') } },
        ],
      },
    });
    f.del('a', 'c');
    assert.deepEqual(eventResponses(responses).map(describe), [
      '0@2: PUT a=1@2, PUT b=1@2, PUT c=1@2',
      '0@3: DELETE a@3, DELETE b@3',
    ]);
  }));

test('a batch of several revisions is split into one response per revision', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k' }));
    const results = f.store.applyBatch([
      { index: 1, request: { type: 'put', put: { key: b('k'), value: b('1') } } },
      { index: 2, request: { type: 'put', put: { key: b('k'), value: b('2') } } },
    ]);
    f.hub.notify(
      results.flatMap((r) => (r.status === 'applied' ? r.events : [])),
      f.store.currentRevision(),
    );
    assert.deepEqual(eventResponses(responses).map(describe), ['0@2: PUT k=1@2', '0@3: PUT k=2@3']);
  }));

test('progress_request: header at the current revision, watch_id -1 (etcd 3.4)', () =>
  withWatch((f) => {
    f.put('a', '1');
    const { stream, responses } = f.open();
    stream.handle(progressRequest());
    assert.equal(responses.length, 1);
    assert.equal(responses[0]!.watch_id, '-1');
    assert.equal(responses[0]!.header.revision, '2');
    assert.equal(responses[0]!.created || responses[0]!.canceled, false);
  }));

test('progress_notify: sent on a tick only to synced, idle watchers that asked for it', () =>
  withWatch((f) => {
    f.put('k', '1'); // 2
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k', progress_notify: true })); // 0
    stream.handle(createRequest({ key: 'k' })); // 1: did not ask
    stream.handle(createRequest({ key: 'k', progress_notify: true, start_revision: 1 })); // 2: unsynced
    responses.length = 0;
    f.hub.tickProgress();
    assert.deepEqual(
      responses.map((r) => [r.watch_id, r.header.revision, r.events.length]),
      [['0', '2', 0]],
    );
    f.hub.drain(); // watcher 2 catches up (and gets events)
    f.put('k', '2'); // both 0 and 2 get events: not idle
    responses.length = 0;
    f.hub.tickProgress();
    assert.equal(responses.length, 0);
    f.hub.tickProgress();
    assert.deepEqual(
      responses.map((r) => [r.watch_id, r.header.revision]),
      [
        ['0', '3'],
        ['2', '3'],
      ],
    );
  }));

test('progress_notify runs on its own timer', async () =>
  withWatch(
    async (f) => {
      const { stream, responses } = f.open();
      stream.handle(createRequest({ key: 'k', progress_notify: true }));
      await new Promise((resolve) => setTimeout(resolve, 60));
      assert.ok(responses.length >= 2, 'created plus at least one progress notification');
      assert.equal(responses[1]!.watch_id, '0');
      assert.equal(responses[1]!.events.length, 0);
    },
    { progressNotifyIntervalMs: 10 },
  ));

test('cancel: a canceled response, no events afterwards; an unknown id gets no answer', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k' }));
    f.put('k', '1'); // 2
    stream.handle(cancelRequest(0));
    stream.handle(cancelRequest(42));
    f.put('k', '2');
    assert.deepEqual(
      responses.map((r) => [r.watch_id, r.created, r.canceled, r.events.length, r.header.revision]),
      [
        ['0', true, false, 0, '1'],
        ['0', false, false, 1, '2'],
        ['0', false, true, 0, '2'],
      ],
    );
    assert.equal(stream.watcherCount(), 0);
    assert.deepEqual(f.hub.stats(), { streams: 1, synced: 0, unsynced: 0 });
  }));

test('events queued for a watcher are dropped when it is canceled', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k' }));
    stream.pause();
    f.put('k', '1');
    stream.handle(cancelRequest(0));
    stream.resume();
    assert.deepEqual(
      responses.map((r) => [r.created, r.canceled, r.events.length]),
      [
        [true, false, 0],
        [false, true, 0],
      ],
    );
  }));

test('a watch from a compacted revision: compact_revision set, canceled, watcher removed', () =>
  withWatch((f) => {
    for (let i = 0; i < 5; i++) f.put('k', String(i)); // 2..6
    f.apply({ type: 'compact', compact: { revision: 4 } });
    const { stream, responses } = f.open();
    stream.handle(createRequest({ key: 'k', start_revision: 3 }));
    stream.handle(createRequest({ key: 'k', start_revision: 4 }));
    f.hub.drain();
    const compacted = responses.find((r) => r.compact_revision !== '0')!;
    assert.equal(compacted.watch_id, '0');
    assert.equal(compacted.canceled, true);
    assert.equal(compacted.compact_revision, '4');
    // etcd 3.4 sends this response from the mvcc layer with revision 0 in its header.
    assert.equal(compacted.header.revision, '0');
    assert.equal(stream.watcherCount(), 1, 'watching from the compact revision itself is allowed');
    assert.deepEqual(eventResponses(responses).map(describe), ['1@6: PUT k=2@4, PUT k=3@5, PUT k=4@6']);
    const before = responses.length;
    stream.handle(cancelRequest(0));
    assert.equal(responses.length, before, 'the compacted watcher is gone');
  }));

test('fragment: a large revision is split below maxRequestBytes, fragment on all but the last', () =>
  withWatch(
    (f) => {
      const { stream, responses } = f.open();
      stream.handle(createRequest({ key: 'k', range_end: 'l', fragment: true }));
      stream.handle(createRequest({ key: 'k', range_end: 'l' }));
      const value = 'x'.repeat(100);
      f.apply({
        type: 'txn',
        txn: {
          success: Array.from({ length: 10 }, (_, i) => ({
            type: 'put' as const,
            put: { key: b(`k${i}`), value: b(value) },
          })),
        },
      });
      const fragmented = eventResponses(responses).filter((r) => r.watch_id === '0');
      const whole = eventResponses(responses).filter((r) => r.watch_id === '1');
      assert.equal(whole.length, 1);
      assert.equal(whole[0]!.events.length, 10);
      assert.ok(fragmented.length > 1);
      assert.deepEqual(
        fragmented.map((r) => r.fragment),
        [...Array(fragmented.length - 1).fill(true), false],
      );
      assert.deepEqual(
        fragmented.flatMap((r) => r.events.map((e) => e.kv.key.toString())),
        Array.from({ length: 10 }, (_, i) => `k${i}`),
      );
    },
    { maxRequestBytes: 400 },
  ));

test('malformed requests throw WatchRequestError; a request with no union is ignored', () =>
  withWatch((f) => {
    const { stream, responses } = f.open();
    assert.throws(
      () =>
        stream.handle({
          request_union: 'create_request',
          create_request: { key: b('k'), start_revision: 'x' },
        }),
      WatchRequestError,
    );
    assert.throws(() => stream.handle('nope'), WatchRequestError);
    stream.handle({});
    assert.equal(responses.length, 0);
  }));

test('a client that never reads cannot queue control responses without bound', () =>
  withWatch(
    (f) => {
      const { stream } = f.open();
      stream.pause();
      stream.handle(progressRequest());
      stream.handle(progressRequest());
      assert.throws(() => stream.handle(progressRequest()), WatchStreamOverloadedError);
    },
    { maxQueuedControlResponses: 2 },
  ));

test('limits are validated with named errors', async () => {
  await assert.rejects(
    withWatch(() => {}, { maxPendingEventsPerWatcher: 0 }),
    /maxPendingEventsPerWatcher/,
  );
  await assert.rejects(
    withWatch(() => {}, { catchUpBatchEvents: 1.5 }),
    /catchUpBatchEvents/,
  );
});
