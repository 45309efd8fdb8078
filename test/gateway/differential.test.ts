// Differential test of the JSON gateway (TESTING.md §3): the same seeded sequence of HTTP requests
// goes to a fresh real etcd 3.4 (A) and a fresh Flotilla (B); every answer — status code and body,
// errors included — must match after normalization (runner.ts).
//
//   FLOTILLA_GATEWAY_DIFF_SEEDS=6     number of seeds (1..N)
//   FLOTILLA_GATEWAY_DIFF_SEED=3      run only this seed (to reproduce a failure)
//   FLOTILLA_GATEWAY_DIFF_OPS=200     requests per seed

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdEndpoint, flotillaEndpoint, type StartedEndpoint } from '../support/endpoints.js';
import { positiveIntegerFromEnv } from '../support/env.js';
import { etcdSkipReason } from '../support/etcd.js';
import { runGatewaySequence } from './runner.js';

const SEED_COUNT = positiveIntegerFromEnv('FLOTILLA_GATEWAY_DIFF_SEEDS', 6);
const OP_COUNT = positiveIntegerFromEnv('FLOTILLA_GATEWAY_DIFF_OPS', 200);
/** Seeds run in parallel; each holds an etcd and a Flotilla. */
const SEEDS_IN_PARALLEL = 3;

const seeds = process.env.FLOTILLA_GATEWAY_DIFF_SEED
  ? [positiveIntegerFromEnv('FLOTILLA_GATEWAY_DIFF_SEED', 1)]
  : Array.from({ length: SEED_COUNT }, (_, index) => index + 1);

test(`gateway differential: etcd vs flotilla, ${seeds.length} seeds x ${OP_COUNT} requests`, {
  skip: etcdSkipReason(),
  concurrency: SEEDS_IN_PARALLEL,
}, async (t) => {
  await Promise.all(
    seeds.map((seed) =>
      t.test(`seed ${seed}`, async () => {
        const started = await Promise.allSettled([etcdEndpoint.start(), flotillaEndpoint.start()]);
        const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
        try {
          const [etcd, flotilla] = started.map((result) => {
            if (result.status === 'rejected') throw result.reason;
            return result.value as StartedEndpoint;
          });
          const result = await runGatewaySequence(
            seed,
            OP_COUNT,
            `http://${etcd!.address}`,
            `http://${flotilla!.address}`,
          );
          if (result.mismatch) assert.fail(result.mismatch.message);
          assert.equal(result.steps, OP_COUNT);
        } finally {
          await Promise.all(running.map((endpoint) => endpoint.stop()));
        }
      }),
    ),
  );
});
