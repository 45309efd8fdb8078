// Fuzzing the peer port of a real three-member cluster (peer-inputs.ts): no input may stop a
// member, every member keeps serving a normal client during and after, and afterwards all members
// agree on HashKV and the cluster still commits writes. FLOTILLA_FUZZ_PEER_INPUTS raises the
// count; FLOTILLA_FUZZ_SEED replays a run.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FlotillaCluster } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';
import { LOOPBACK_HOST } from '../support/ports.js';
import { assertAllAlive, assertEveryMemberServes, assertSameHashKV } from './cluster-checks.js';
import { sendBytes } from './grpc-fuzzer.js';
import { fuzzBudget, fuzzSeed, Rng } from './mutate.js';
import { PeerInputs, type PeerView } from './peer-inputs.js';

const INPUTS = fuzzBudget('FLOTILLA_FUZZ_PEER_INPUTS', 4000);
const BATCH_SIZE = 16;
const CHECK_EVERY = 500;

let cluster: FlotillaCluster;
before(async () => {
  cluster = await FlotillaCluster.start(3);
});
after(async () => {
  await cluster?.stop();
});

/** Cluster id, member ids and the lowest term, from each member's Status. */
async function peerView(): Promise<PeerView> {
  const ids: bigint[] = [];
  let clusterId = 0n;
  let lowestTerm = Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < cluster.members.length; i++) {
    const client = new EtcdClient(cluster.address(i));
    try {
      const status = await client.status();
      assert.ok('response' in status);
      const header = status.response.header;
      ids.push(BigInt(String(header?.member_id)));
      clusterId = BigInt(String(header?.cluster_id));
      lowestTerm = Math.min(lowestTerm, Number(header?.raft_term));
    } finally {
      client.close();
    }
  }
  // Stale messages need a term below every member's: a fresh cluster is at term 2 after its election.
  assert.ok(lowestTerm >= 2, `term ${lowestTerm}`);
  return { clusterId, memberIds: ids, staleBelowTerm: lowestTerm };
}

test(`peer port fuzz: ${INPUTS} hostile inputs, no member stops, state stays equal`, async () => {
  const seed = fuzzSeed();
  const inputs = new PeerInputs(new Rng(seed), await peerView());
  const crashed = () => cluster.members.some((m) => m.process === null || m.process.exitCode !== null);
  let tried = 0;
  let checks = 0;
  let lastLabels: string[] = [];
  while (tried < INPUTS && !crashed()) {
    const batch = Array.from({ length: Math.min(BATCH_SIZE, INPUTS - tried) }, () => inputs.next());
    await Promise.all(
      batch.map((input) =>
        sendBytes(`${LOOPBACK_HOST}:${cluster.members[input.member].peerPort}`, input.bytes),
      ),
    );
    tried += batch.length;
    lastLabels = batch.map((input) => input.label);
    if (tried % CHECK_EVERY < BATCH_SIZE) {
      await assertEveryMemberServes(cluster, `peer-fuzz-check-${checks++}`);
    }
  }
  const crashes = cluster.members.filter((m) => m.process === null || m.process.exitCode !== null).length;
  console.log(
    `peer fuzz: seed ${seed}, ${tried} inputs tried, ${crashes} crashes, ${checks} liveness checks`,
  );
  assert.equal(
    crashes,
    0,
    `seed ${seed}: a member stopped after one of ${lastLabels.join('; ')}\n${cluster.describe()}`,
  );
  assertAllAlive(cluster);
  const revision = await assertEveryMemberServes(cluster, 'peer-fuzz-after');
  const hash = await assertSameHashKV(cluster, revision);
  console.log(`peer fuzz: HashKV ${hash} on all ${cluster.members.length} members at revision ${revision}`);
});
