// What must hold after fuzzing a real cluster: every member still serves a normal client, the
// cluster still commits writes, and all members hold the same key-value state (HashKV at one
// revision, which every member computes over its own copy).

import assert from 'node:assert/strict';
import { type FlotillaCluster, waitFor } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

const SERVE_TIMEOUT_MS = 15_000;

/** Each member answers a normal put (a write the cluster commits) within the bound. */
export async function assertEveryMemberServes(cluster: FlotillaCluster, key: string): Promise<string> {
  let revision = '0';
  for (let i = 0; i < cluster.members.length; i++) {
    revision = await waitFor(`member ${i} to serve a put`, SERVE_TIMEOUT_MS, async () => {
      const client = new EtcdClient(cluster.address(i));
      try {
        const answer = await client.put({ key: Buffer.from(`${key}/${i}`), value: Buffer.from('v') });
        return 'response' in answer ? String(answer.response.header?.revision) : undefined;
      } finally {
        client.close();
      }
    });
  }
  return revision;
}

/** HashKV at `revision` is the same on every member, once each has applied it. */
export async function assertSameHashKV(cluster: FlotillaCluster, revision: string): Promise<string> {
  const hashes: string[] = [];
  for (let i = 0; i < cluster.members.length; i++) {
    hashes.push(
      await waitFor(`member ${i} HashKV at ${revision}`, SERVE_TIMEOUT_MS, async () => {
        const client = new EtcdClient(cluster.address(i));
        try {
          const answer = await client.hashKV({ revision });
          return 'response' in answer ? String(answer.response.hash) : undefined;
        } finally {
          client.close();
        }
      }),
    );
  }
  assert.equal(new Set(hashes).size, 1, `HashKV differs across members: ${hashes.join(', ')}`);
  return hashes[0];
}

export function assertAllAlive(cluster: FlotillaCluster): void {
  for (const member of cluster.members) {
    assert.equal(member.process?.exitCode ?? null, null, `member ${member.name} exited:\n${member.output}`);
  }
}
