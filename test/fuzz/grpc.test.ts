// Fuzzing the client port of a real three-member cluster (gRPC over raw HTTP/2, and the JSON
// gateway): no input may stop a member, every member keeps serving a normal client during and
// after, and afterwards all members agree on HashKV and the cluster still commits writes.
// FLOTILLA_FUZZ_GRPC_INPUTS raises the count; FLOTILLA_FUZZ_SEED replays a run.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FlotillaCluster } from '../support/flotilla.js';
import { assertAllAlive, assertEveryMemberServes, assertSameHashKV } from './cluster-checks.js';
import { type FuzzTarget, fuzzClientPorts } from './grpc-fuzzer.js';
import { GrpcInputs } from './grpc-inputs.js';
import { fuzzBudget, fuzzSeed, Rng } from './mutate.js';

const INPUTS = fuzzBudget('FLOTILLA_FUZZ_GRPC_INPUTS', 1000);

let cluster: FlotillaCluster;
before(async () => {
  cluster = await FlotillaCluster.start(3);
});
after(async () => {
  await cluster?.stop();
});

/** Every member's client port, and how to tell that its process has stopped. */
function targets(): FuzzTarget[] {
  return cluster.members.map((member, i) => ({
    address: cluster.address(i),
    crashed: () => member.process === null || member.process.exitCode !== null,
  }));
}

/**
 * A seed that once stopped a member (4e7cb2b: a stream destroyed before node:http2 emitted it was
 * answered with a 415, which threw), replayed up to the batch that did it. Its inputs come from
 * GrpcInputs: a change there makes this a different run, not a wrong one.
 */
const REGRESSION_SEED = 1023903998;
const REGRESSION_INPUTS = 944;

test(`client port fuzz: seed ${REGRESSION_SEED} replayed, no member stops`, async () => {
  const report = await fuzzClientPorts(targets(), new GrpcInputs(new Rng(REGRESSION_SEED)), {
    count: REGRESSION_INPUTS,
  });
  assert.equal(
    report.crashes,
    0,
    `seed ${REGRESSION_SEED}: a member stopped after one of ${report.crashInputs.join('; ')}\n${cluster.describe()}`,
  );
  assertAllAlive(cluster);
});

test(`client port fuzz: ${INPUTS} hostile inputs, no member stops, state stays equal`, async () => {
  const seed = fuzzSeed();
  let checks = 0;
  const report = await fuzzClientPorts(targets(), new GrpcInputs(new Rng(seed)), {
    count: INPUTS,
    checkEvery: 300,
    check: async () => {
      await assertEveryMemberServes(cluster, `fuzz-check-${checks++}`);
    },
  });
  console.log(
    `grpc fuzz: seed ${seed}, ${report.tried} inputs tried, ${report.unanswered} unanswered in time, ` +
      `${report.crashes} crashes, ${checks} liveness checks`,
  );
  assert.equal(
    report.crashes,
    0,
    `seed ${seed}: a member stopped after one of ${report.crashInputs.join('; ')}\n${cluster.describe()}`,
  );
  assertAllAlive(cluster);
  const revision = await assertEveryMemberServes(cluster, 'fuzz-after');
  const hash = await assertSameHashKV(cluster, revision);
  console.log(`grpc fuzz: HashKV ${hash} on all ${cluster.members.length} members at revision ${revision}`);
});
