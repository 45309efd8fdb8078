// Tests of the differential harness itself: it must be deterministic, normalize only what it claims
// to, and — most important — actually report a difference, at the right op, when one exists.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdEndpoint } from '../support/endpoints.js';
import { etcdSkipReason } from '../support/etcd.js';
import type { RangeResponse } from '../support/etcd-types.js';
import { proxiedEndpoint } from '../support/grpc-proxy.js';
import { bytes, OpGenerator, prefixEnd } from './generator.js';
import { firstDifference, normalize, normalizeOutcome } from './normalize.js';
import { runWithEndpoints } from './runner.js';

const SEED = 11;
const SHORT_RUN_OPS = 80;
/** Which successful Range answer (1-based) the perturbing proxy corrupts. */
const PERTURBED_RANGE_NUMBER = 3;

test('generator: same seed and same revisions give the same sequence', () => {
  const first = new OpGenerator(5);
  const second = new OpGenerator(5);
  for (let index = 0; index < 300; index++) {
    const context = { revision: 1 + index };
    assert.deepEqual(normalize(first.next(context)), normalize(second.next(context)));
  }
  const other = new OpGenerator(6);
  const differs = Array.from({ length: 20 }, (_, index) => other.next({ revision: index + 1 }));
  const reference = new OpGenerator(5);
  assert.notDeepEqual(
    differs.map((op) => normalize(op)),
    differs.map((_, index) => normalize(reference.next({ revision: index + 1 }))),
  );
});

test('prefixEnd follows etcd: increment last byte below 0xff, all-0xff gives "\\0"', () => {
  assert.deepEqual(prefixEnd(bytes('a')), bytes('b'));
  assert.deepEqual(prefixEnd(bytes('a\xff')), bytes('b'));
  assert.deepEqual(prefixEnd(bytes('k\xff\xff')), bytes('l'));
  assert.deepEqual(prefixEnd(bytes('\xff\xff')), Buffer.from([0]));
});

test('normalize drops cluster_id, member_id and raft_term but keeps header.revision', () => {
  const response = {
    header: { cluster_id: '1', member_id: '2', revision: '7', raft_term: '3' },
    kvs: [{ key: bytes('k\xff'), value: bytes('"\\') }],
  };
  assert.deepEqual(normalize({ response }), {
    response: { header: { revision: '7' }, kvs: [{ key: 'b"k\\xff"', value: 'b"\\"\\\\"' }] },
  });
  const other = { ...response, header: { cluster_id: '9', member_id: '9', revision: '7', raft_term: '9' } };
  assert.equal(firstDifference('range', normalize({ response }), normalize({ response: other })), undefined);
  const later = { ...response, header: { ...response.header, revision: '8' } };
  assert.equal(
    firstDifference('range', normalize({ response }), normalize({ response: later }))?.path,
    '.response.header.revision',
  );
});

test('lease TTL remaining is compared within 1 s; granted TTL and key order are not tolerated/kept', () => {
  const answer = (ttl: string, granted: string, keys: string[]) =>
    normalizeOutcome('leaseTimeToLive', {
      response: { header: { revision: '5' }, ID: '1', TTL: ttl, grantedTTL: granted, keys: keys.map(bytes) },
    });
  assert.equal(
    firstDifference('leaseTimeToLive', answer('600', '600', ['a', 'b']), answer('599', '600', ['b', 'a'])),
    undefined,
  );
  assert.equal(
    firstDifference('leaseTimeToLive', answer('600', '600', []), answer('598', '600', []))?.path,
    '.response.TTL',
  );
  assert.equal(
    firstDifference('leaseTimeToLive', answer('600', '600', []), answer('600', '900', []))?.path,
    '.response.grantedTTL',
  );
  // Outside LeaseTimeToLive a TTL is exact.
  assert.equal(
    firstDifference(
      'leaseGrant',
      normalize({ response: { TTL: '600' } }),
      normalize({ response: { TTL: '599' } }),
    )?.path,
    '.response.TTL',
  );
});

test('a transparent proxy in front of etcd compares equal (the proxy itself adds no difference)', {
  skip: etcdSkipReason(),
}, async () => {
  const transparent = proxiedEndpoint(etcdEndpoint, (_method, response) => response);
  const result = await runWithEndpoints(SEED, SHORT_RUN_OPS, etcdEndpoint, transparent);
  assert.equal(result.mismatch, undefined, result.mismatch?.message);
  assert.equal(result.steps.length, SHORT_RUN_OPS);
});

test('a planted difference (header.revision + 1 in one Range answer) is reported at its op', {
  skip: etcdSkipReason(),
}, async () => {
  let successfulRanges = 0;
  const perturbed = proxiedEndpoint(etcdEndpoint, (method, response) => {
    if (method !== 'Range') return response;
    successfulRanges++;
    if (successfulRanges !== PERTURBED_RANGE_NUMBER) return response;
    const range = response as RangeResponse;
    assert.ok(range.header, 'Range answer without header');
    return { ...range, header: { ...range.header, revision: String(Number(range.header.revision) + 1) } };
  });
  const result = await runWithEndpoints(SEED, SHORT_RUN_OPS, etcdEndpoint, perturbed);

  // Where the planted difference must show up: the PERTURBED_RANGE_NUMBER-th successful Range,
  // judged from A's (unperturbed) answers alone.
  const successfulRangeSteps = result.steps.filter(
    (step) =>
      step.op.kind === 'range' && typeof step.a === 'object' && step.a !== null && 'response' in step.a,
  );
  const expected = successfulRangeSteps[PERTURBED_RANGE_NUMBER - 1];
  assert.ok(
    expected,
    `seed ${SEED} has fewer than ${PERTURBED_RANGE_NUMBER} successful Range ops before a mismatch`,
  );

  const mismatch = result.mismatch;
  assert.ok(mismatch, 'the harness did not notice the planted difference');
  assert.equal(mismatch.index, expected.index);
  assert.equal(mismatch.op.kind, 'range');
  assert.equal(mismatch.difference.path, '.response.header.revision');
  assert.equal(Number(mismatch.difference.b), Number(mismatch.difference.a) + 1);
  assert.match(mismatch.message, new RegExp(`^seed ${SEED}, op #${expected.index} \\(range\\)`));
  assert.match(mismatch.message, /request: /);
  // The run stops at the first mismatch.
  assert.equal(result.steps.at(-1)?.index, expected.index);
});
