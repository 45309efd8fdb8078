// The hand-written PutResponse/RangeResponse/WatchResponse encoders write exactly protobufjs's bytes, for any
// header ids (including 64-bit ids above 2^63), revisions, key-values and counts; and a Range
// encoded from stored records writes what the general path writes.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { MvccStore } from '../../src/mvcc/store.js';
import { rangeResponse } from '../../src/server/api/convert.js';
import {
  encodedRangeResponse,
  encodePutResponse,
  encodeRangeResponse,
  encodeWatchResponse,
  RangeResponseEncoder,
} from '../../src/server/api/fast-codec.js';
import { loadServices } from '../../src/server/api/grpc.js';

const RUNS = 500;
const services = loadServices();
const kv = services.KV;
const watch = services.Watch;

const uint64 = fc.oneof(
  fc.constant('0'),
  fc.integer({ min: 0, max: 2 ** 31 }).map(String),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
);
const int64 = fc.oneof(
  fc.constant('0'),
  fc.integer({ min: 0, max: 2 ** 40 }).map(String),
  fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String),
);
const bytes = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));
const header = fc.record({ cluster_id: uint64, member_id: uint64, revision: int64, raft_term: uint64 });
const keyValue = fc.record({
  key: bytes,
  create_revision: int64,
  mod_revision: int64,
  version: int64,
  value: bytes,
  lease: int64,
});

test('encodePutResponse writes the bytes protobufjs writes', () => {
  fc.assert(
    fc.property(header, fc.option(keyValue, { nil: null }), (h, prev) => {
      const response = { header: h, prev_kv: prev };
      assert.deepEqual(encodePutResponse(response), kv.Put.responseSerialize(response));
    }),
    { numRuns: RUNS },
  );
});

test('encodeRangeResponse writes the bytes protobufjs writes, also past its first buffer', () => {
  fc.assert(
    fc.property(header, fc.array(keyValue, { maxLength: 20 }), fc.boolean(), int64, (h, kvs, more, count) => {
      const response = { header: h, kvs, more, count };
      assert.deepEqual(encodeRangeResponse(response), kv.Range.responseSerialize(response));
    }),
    { numRuns: RUNS },
  );
});

const event = fc.record({
  type: fc.constantFrom(0, 1),
  kv: keyValue,
  prev_kv: fc.option(keyValue, { nil: null }),
});

test('encodeWatchResponse writes the bytes protobufjs writes, with cached event bytes reused', () => {
  fc.assert(
    fc.property(
      header,
      int64,
      fc.boolean(),
      fc.boolean(),
      int64,
      fc.string(),
      fc.boolean(),
      fc.array(event, { maxLength: 8 }),
      (h, watchId, created, canceled, compactRevision, reason, fragment, events) => {
        const response = {
          header: h,
          watch_id: watchId,
          created,
          canceled,
          compact_revision: compactRevision,
          cancel_reason: reason,
          fragment,
          events,
        };
        const expected = watch.Watch.responseSerialize(response);
        assert.deepEqual(encodeWatchResponse(response), expected);
        // The second encoding takes every event from the cache: still the same bytes.
        assert.deepEqual(encodeWatchResponse(response), expected);
      },
    ),
    { numRuns: RUNS },
  );
});

test('a plain Range encoded from stored records is byte for byte the general path, protobufjs-encoded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-fast-range-'));
  const headers = {
    header: (revision: number) => ({
      cluster_id: '7',
      member_id: '9',
      revision: String(revision),
      raft_term: '2',
    }),
  };
  const key = fc.stringMatching(/^[a-d]{1,3}$/).map((s) => Buffer.from(s));
  const lease = fc.oneof(
    fc.constant(0n),
    fc.bigInt({ min: 1n, max: 2n ** 32n }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  );
  const op = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key, value: bytes, lease }),
    fc.record({ kind: fc.constant('delete' as const), key }),
  );
  const rangeEnd = fc.oneof(fc.constant(undefined), fc.constant(Buffer.from([0])), key);
  const request = fc.record({ key, rangeEnd, limit: fc.integer({ min: -1, max: 5 }) });
  let store: MvccStore | null = null;
  let runs = 0;
  try {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 30 }),
        fc.array(request, { minLength: 1, maxLength: 10 }),
        (ops, ranges) => {
          store = MvccStore.open({ path: join(dir, String(runs++)), leaseChecks: 'off' });
          for (const o of ops) {
            if (o.kind === 'put') store.put({ key: o.key, value: o.value, lease: o.lease });
            else store.deleteRange({ key: o.key });
          }
          for (const r of ranges) {
            const encoded = encodedRangeResponse(headers, store, r);
            assert.notEqual(encoded, null, 'a plain range takes the encoded path');
            const general = kv.Range.responseSerialize(rangeResponse(headers, store.range(r)));
            assert.deepEqual(encodeRangeResponse(encoded), general);
          }
          void store.close();
          store = null;
        },
      ),
      { numRuns: 60 },
    );
  } finally {
    await (store as MvccStore | null)?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two Range encoders started before either finishes do not share a buffer', () => {
  const header = (revision: string) => ({ cluster_id: '7', member_id: '9', revision, raft_term: '2' });
  const alone = (revision: string) => new RangeResponseEncoder(header(revision)).finish(false, 0);
  alone('0'); // leaves a kept buffer for the next encoder to take
  const first = new RangeResponseEncoder(header('1'));
  const second = new RangeResponseEncoder(header('2'));
  assert.deepEqual(second.finish(true, 2), new RangeResponseEncoder(header('2')).finish(true, 2));
  assert.deepEqual(first.finish(false, 0), alone('1'));
});

test('a Range that needs sorting, filtering, keys only, a count or a past revision is left to the general path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-fast-range-'));
  const store = MvccStore.open({ path: dir });
  const headers = {
    header: (revision: number) => ({
      cluster_id: '7',
      member_id: '9',
      revision: String(revision),
      raft_term: '2',
    }),
  };
  try {
    store.put({ key: Buffer.from('a'), value: Buffer.from('1') });
    store.put({ key: Buffer.from('b'), value: Buffer.from('2') });
    const all = { key: Buffer.from('a'), rangeEnd: Buffer.from([0]) };
    for (const r of [
      { ...all, sortOrder: 2 as const },
      { ...all, sortTarget: 3 as const },
      { ...all, keysOnly: true },
      { ...all, countOnly: true },
      { ...all, minModRevision: 2 },
      { ...all, revision: 2 },
      { ...all, revision: 99 },
    ]) {
      assert.equal(encodedRangeResponse(headers, store, r), null, JSON.stringify(r));
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
