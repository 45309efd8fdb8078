import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ApplyRequest, RequestOp } from '../../src/mvcc/index.js';
import type { WatchResponseMessage } from '../../src/watch/index.js';
import { openTemp } from '../mvcc/helpers.js';
import { b, createRequest, describe, eventResponses, withWatch } from './helpers.js';

test('a slow watcher becomes unsynced instead of blocking writes, then catches up in order', () =>
  withWatch(
    (f) => {
      const slow = f.open();
      const fast = f.open();
      slow.stream.handle(createRequest({ key: 'k' }));
      fast.stream.handle(createRequest({ key: 'k' }));
      slow.stream.pause();
      for (let i = 0; i < 10; i++) f.put('k', String(i)); // revisions 2..11
      assert.equal(eventResponses(fast.responses).length, 10, 'the fast watcher is not held back');
      assert.deepEqual(f.hub.stats(), { streams: 2, synced: 1, unsynced: 1 });
      assert.equal(slow.responses.length, 1, 'only the created response went out');
      slow.stream.resume();
      f.hub.drain();
      f.put('k', 'last'); // 12: the slow watcher is synced again
      assert.deepEqual(f.hub.stats(), { streams: 2, synced: 2, unsynced: 0 });
      const mods = eventResponses(slow.responses).flatMap((r) =>
        r.events.map((e) => Number(e.kv.mod_revision)),
      );
      assert.deepEqual(
        mods,
        Array.from({ length: 11 }, (_, i) => i + 2),
      );
    },
    { maxPendingEventsPerWatcher: 3, catchUpBatchEvents: 2 },
  ));

test('catch-up runs by itself on setImmediate slices', async () =>
  withWatch(
    async (f) => {
      for (let i = 0; i < 50; i++) f.put(`k${i % 5}`, String(i)); // 2..51
      const { stream, responses } = f.open();
      stream.handle(createRequest({ key: 'k', range_end: 'l', start_revision: 1 }));
      assert.equal(eventResponses(responses).length, 0, 'nothing is read from history synchronously');
      for (let i = 0; i < 20 && f.hub.stats().unsynced > 0; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(f.hub.stats().unsynced, 0);
      const events = eventResponses(responses).flatMap((r) => r.events);
      assert.equal(events.length, 50);
      assert.ok(eventResponses(responses).length >= 10, 'in bounded batches');
    },
    { catchUpBatchEvents: 5, catchUpBatchesPerSlice: 2 },
  ));

test('a catch-up response reports the last revision it covers in its header', () =>
  withWatch(
    (f) => {
      for (let i = 0; i < 4; i++) f.put('k', String(i)); // 2..5
      const { stream, responses } = f.open();
      stream.handle(createRequest({ key: 'k', start_revision: 2 }));
      f.hub.drain();
      assert.deepEqual(eventResponses(responses).map(describe), [
        '0@3: PUT k=0@2, PUT k=1@3',
        '0@5: PUT k=2@4, PUT k=3@5',
      ]);
    },
    { catchUpBatchEvents: 2 },
  ));

test('a narrow watcher over a long unrelated history scans it in bounded steps', () =>
  withWatch(
    (f) => {
      for (let i = 0; i < 40; i++) f.put(`other${i}`, 'x'); // 2..41
      f.put('mine', '1'); // 42
      const { stream, responses } = f.open();
      stream.handle(createRequest({ key: 'mine', start_revision: 1 }));
      f.hub.drain();
      assert.deepEqual(eventResponses(responses).map(describe), ['0@42: PUT mine=1@42']);
    },
    { catchUpScanRecords: 4 },
  ));

for (const compactAt of [0, 4]) {
  test(`after a snapshot restore, watchers re-read history${compactAt > 0 ? ' or are compacted' : ''}`, () =>
    withWatch(async (f) => {
      const { stream, responses } = f.open();
      stream.handle(createRequest({ key: 'k' }));
      f.put('k', '1'); // 2, delivered live
      // A leader that moved on (and maybe compacted) sends this follower a snapshot.
      const leader = openTemp();
      try {
        for (const value of ['1', '2', '3']) leader.store.put({ key: b('k'), value: b(value) }); // 2..4
        if (compactAt > 0) leader.store.compact(compactAt);
        f.store.restore(leader.store.snapshot());
      } finally {
        await leader.dispose();
      }
      f.hub.restored();
      f.hub.drain();
      if (compactAt === 0) {
        assert.deepEqual(eventResponses(responses).map(describe), [
          '0@2: PUT k=1@2',
          '0@4: PUT k=2@3, PUT k=3@4',
        ]);
      } else {
        assert.equal(responses.at(-1)!.compact_revision, String(compactAt));
        assert.equal(stream.watcherCount(), 0);
      }
    }));
}

// --- randomized: every watcher sees exactly its events ---------------------------------------

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];

interface ModelEvent {
  readonly type: number;
  readonly key: string;
  readonly value: string;
  readonly mod: number;
}

const opArb = fc.oneof(
  fc.record({
    kind: fc.constant('put' as const),
    key: fc.constantFrom(...KEYS),
    value: fc.string({ maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('del' as const),
    key: fc.constantFrom(...KEYS),
    end: fc.option(fc.constantFrom(...KEYS, '\0'), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('txn' as const),
    puts: fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 4 }),
    value: fc.string({ maxLength: 3 }),
  }),
);

const watchArb = fc.record({
  key: fc.constantFrom(...KEYS),
  end: fc.option(fc.constantFrom('b', 'd', 'g', '\0'), { nil: undefined }),
  startBack: fc.option(fc.nat({ max: 30 }), { nil: undefined }),
  /** Created after this percentage of the writes. */
  createAtPercent: fc.nat({ max: 100 }),
  filter: fc.constantFrom<number[]>([], [0], [1]),
  prevKv: fc.boolean(),
  slow: fc.boolean(),
});

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function toRequest(op: Op): ApplyRequest {
  if (op.kind === 'put') return { type: 'put', put: { key: b(op.key), value: b(op.value) } };
  if (op.kind === 'del') {
    return op.end === undefined || op.end <= op.key
      ? { type: 'deleteRange', deleteRange: { key: b(op.key) } }
      : { type: 'deleteRange', deleteRange: { key: b(op.key), rangeEnd: b(op.end) } };
  }
  const success: RequestOp[] = op.puts.map((key) => ({
    type: 'put',
    put: { key: b(key), value: b(op.value) },
  }));
  return { type: 'txn', txn: { success } };
}

function inRange(key: string, start: string, end: string | undefined): boolean {
  if (end === undefined) return key === start;
  if (end === '\0') return key >= start;
  return key >= start && key < end;
}

test('randomized: every watcher sees exactly the events of its range, in order, once', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { minLength: 10, maxLength: 60 }),
      fc.array(watchArb, { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat({ max: 60 }), { maxLength: 6 }),
      async (ops, watches, stalls) =>
        withWatch(
          async (f) => {
            // The model: every event of every revision, from the store's own apply results.
            const log: ModelEvent[] = [];
            const streams: {
              responses: WatchResponseMessage[];
              w: (typeof watches)[number];
              start: number;
            }[] = [];
            const slowStreams: ReturnType<typeof f.open>['stream'][] = [];
            for (let step = 0; step <= ops.length; step++) {
              for (const w of watches.filter(
                (x) => Math.floor((x.createAtPercent * ops.length) / 100) === step,
              )) {
                const current = f.store.currentRevision();
                const start = w.startBack === undefined ? 0 : Math.max(1, current - w.startBack);
                const opened = f.open();
                const end = w.end !== undefined && w.end <= w.key && w.end !== '\0' ? undefined : w.end;
                opened.stream.handle(
                  createRequest({
                    key: w.key,
                    ...(end === undefined ? {} : { range_end: end }),
                    start_revision: start,
                    filters: w.filter,
                    prev_kv: w.prevKv,
                  }),
                );
                streams.push({
                  responses: opened.responses,
                  w: { ...w, end },
                  start: start === 0 ? current + 1 : start,
                });
                if (w.slow) {
                  opened.stream.pause();
                  slowStreams.push(opened.stream);
                }
              }
              if (step === ops.length) break;
              const result = f.store.applyEntry(f.store.appliedIndex() + 1, toRequest(ops[step]!));
              assert.ok(result.status === 'applied');
              for (const e of result.events) {
                log.push({
                  type: e.type,
                  key: Buffer.from(e.kv.key).toString('latin1'),
                  value: Buffer.from(e.kv.value).toString('latin1'),
                  mod: e.kv.modRevision,
                });
              }
              f.hub.notify(result.events, f.store.currentRevision());
              if (stalls.includes(step)) {
                for (const stream of slowStreams) stream.resume();
                // Let some setImmediate catch-up run, then hold the slow streams again.
                await new Promise((r) => setImmediate(r));
                for (const stream of slowStreams) stream.pause();
              }
            }
            for (const stream of slowStreams) stream.resume();
            f.hub.drain();
            for (const { responses, w, start } of streams) {
              const expected = log
                .filter((e) => e.mod >= start && inRange(e.key, w.key, w.end) && !w.filter.includes(e.type))
                .map((e) => `${e.type}:${e.key}=${e.type === 0 ? e.value : ''}@${e.mod}`);
              const actual = eventResponses(responses).flatMap((r) =>
                r.events.map(
                  (e) =>
                    `${e.type}:${e.kv.key.toString('latin1')}=${e.kv.value.toString('latin1')}@${e.kv.mod_revision}`,
                ),
              );
              assert.deepEqual(actual, expected);
              // Header revisions never go back, and a revision never spans two responses.
              let lastHeader = 0;
              let lastMod = 0;
              for (const r of eventResponses(responses)) {
                const header = Number(r.header.revision);
                assert.ok(header >= lastHeader);
                lastHeader = header;
                const mods = r.events.map((e) => Number(e.kv.mod_revision));
                assert.ok(mods[0]! > lastMod, 'a revision is split across responses');
                assert.ok(mods[mods.length - 1]! <= header, 'an event beyond its header revision');
                lastMod = mods[mods.length - 1]!;
              }
              if (w.prevKv) {
                for (const r of eventResponses(responses)) {
                  for (const e of r.events) {
                    const mod = Number(e.kv.mod_revision);
                    const key = e.kv.key.toString('latin1');
                    const previous = [...log].reverse().find((x) => x.key === key && x.mod < mod);
                    const expectedPrev =
                      previous === undefined || previous.type === 1 ? null : previous.value;
                    assert.equal(
                      e.prev_kv === null ? null : e.prev_kv.value.toString('latin1'),
                      expectedPrev,
                    );
                  }
                }
              }
            }
          },
          { maxPendingEventsPerWatcher: 2, catchUpBatchEvents: 3, catchUpScanRecords: 5 },
        ),
    ),
    { numRuns: 60, seed: Number(process.env.FLOTILLA_SEED ?? 20240601), verbose: 1 },
  );
});
