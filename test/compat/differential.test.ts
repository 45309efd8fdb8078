// Differential test (TESTING.md §3): the same seeded request sequence goes to a fresh real etcd (A)
// and a fresh target (B); every answer must match after normalization (see normalize.ts).
//
//   FLOTILLA_DIFF_SEEDS=20          number of seeds (1..N)
//   FLOTILLA_DIFF_SEED=7            run only this seed (to reproduce a failure)
//   FLOTILLA_DIFF_OPS=300           operations per seed
//   FLOTILLA_DIFF_TARGET=flotilla   B: flotilla (default) or etcd (harness self-check)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffTargetFromEnv, etcdEndpoint } from '../support/endpoints.js';
import { positiveIntegerFromEnv } from '../support/env.js';
import { etcdSkipReason } from '../support/etcd.js';
import { runWithEndpoints } from './runner.js';

const SEED_COUNT = positiveIntegerFromEnv('FLOTILLA_DIFF_SEEDS', 20);
const OP_COUNT = positiveIntegerFromEnv('FLOTILLA_DIFF_OPS', 300);
/** Seeds run in parallel: each holds two servers; startup dominates, so a little overlap pays. */
const SEEDS_IN_PARALLEL = 3;

const seeds = process.env.FLOTILLA_DIFF_SEED
  ? [positiveIntegerFromEnv('FLOTILLA_DIFF_SEED', 1)]
  : Array.from({ length: SEED_COUNT }, (_, index) => index + 1);

const target = diffTargetFromEnv();

test(`differential: etcd vs ${target.name}, ${seeds.length} seeds x ${OP_COUNT} ops`, {
  skip: etcdSkipReason(),
  concurrency: SEEDS_IN_PARALLEL,
}, async (t) => {
  await Promise.all(
    seeds.map((seed) =>
      t.test(`seed ${seed}`, async () => {
        const result = await runWithEndpoints(seed, OP_COUNT, etcdEndpoint, target);
        if (result.mismatch) assert.fail(result.mismatch.message);
        assert.equal(result.steps.length, OP_COUNT);
      }),
    ),
  );
});
