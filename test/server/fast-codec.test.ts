// The hand-written PutResponse/RangeResponse/WatchResponse encoders write exactly protobufjs's bytes, for any
// header ids (including 64-bit ids above 2^63), revisions, key-values and counts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  encodePutResponse,
  encodeRangeResponse,
  encodeWatchResponse,
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
