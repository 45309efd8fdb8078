// Damaged files in a stopped member's data directory: on restart the member must stop with exit
// code 1 and an error line naming the damaged file, never serve from it. Where damage is safe to
// survive (a corrupt snapshot newer than the one the WAL names), it must serve exactly the data it
// had. What LMDB damage cannot be detected: docs/limits.md.

import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CLUSTER_READY_TIMEOUT_MS, FlotillaCluster, waitFor } from '../support/flotilla.js';
import { EtcdClient } from '../support/grpc-client.js';

const KEYS = 50;
const clusters: FlotillaCluster[] = [];
after(async () => Promise.all(clusters.map((c) => c.stop())));

/** A one-member cluster with KEYS keys written, then stopped; returns it and its member dir. */
async function stoppedMemberWithData(): Promise<{ cluster: FlotillaCluster; memberDir: string }> {
  // Frequent snapshots, so the snap directory holds several files.
  const cluster = await FlotillaCluster.start(1, ['--snapshot-count=20']);
  clusters.push(cluster);
  const client = new EtcdClient(cluster.address(0));
  try {
    for (let i = 0; i < KEYS; i++) {
      const answer = await client.put({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) });
      assert.ok('response' in answer);
    }
  } finally {
    client.close();
  }
  await cluster.kill(0, 'SIGTERM');
  return { cluster, memberDir: join(cluster.members[0].dataDir, 'member') };
}

function flipByte(file: string, offset: number): void {
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, offset);
    byte[0] ^= 0xff;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

function filesIn(dir: string, suffix: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => join(dir, name));
}

/** Restarts the member and expects it to exit 1 with an error line that names `file`. */
async function assertRefusesToStart(cluster: FlotillaCluster, file: string, reason: RegExp): Promise<void> {
  cluster.restart(0);
  const code = await cluster.members[0].exited;
  const output = cluster.members[0].output;
  assert.equal(code, 1, output);
  const errorLine = output.split('\n').find((line) => line.includes('"level":"error"'));
  assert.ok(errorLine !== undefined, output);
  assert.ok(errorLine.includes(file), `the error names ${file}: ${errorLine}`);
  assert.match(errorLine, reason);
  cluster.members[0].process = null;
}

/** Restarts the member and expects every key with its value back. */
async function assertServesAllKeys(cluster: FlotillaCluster): Promise<void> {
  cluster.restart(0);
  await cluster.waitReady();
  const client = new EtcdClient(cluster.address(0));
  try {
    const answer = await waitFor('a range', CLUSTER_READY_TIMEOUT_MS, async () => {
      const range = await client.range({ key: Buffer.from('k'), range_end: Buffer.from('l') });
      return 'response' in range ? range.response : undefined;
    });
    const got = new Map(answer.kvs.map((kv) => [String(kv.key), String(kv.value)]));
    assert.equal(got.size, KEYS);
    for (let i = 0; i < KEYS; i++) assert.equal(got.get(`k${i}`), `v${i}`);
  } finally {
    client.close();
  }
}

test('WAL: a flipped byte in a record stops the member, naming the file and offset', async () => {
  const { cluster, memberDir } = await stoppedMemberWithData();
  const [wal] = filesIn(join(memberDir, 'wal'), '.wal');
  flipByte(wal, 200);
  await assertRefusesToStart(cluster, wal, /wal: corrupt record in .* at byte \d+/);
});

test('WAL: a truncated WAL behind the applied state stops the member, naming data.mdb and the WAL', async () => {
  const { cluster, memberDir } = await stoppedMemberWithData();
  const [wal] = filesIn(join(memberDir, 'wal'), '.wal');
  truncateSync(wal, 100);
  await assertRefusesToStart(
    cluster,
    join(memberDir, 'db', 'data.mdb'),
    /ahead of the last index .* the WAL lost records/,
  );
});

test('snapshot: every snapshot file corrupt stops the member, naming the snapshot it needs', async () => {
  const { cluster, memberDir } = await stoppedMemberWithData();
  const snapshots = filesIn(join(memberDir, 'snap'), '.snap');
  assert.ok(snapshots.length >= 2, `${snapshots.length} snapshot files`);
  for (const file of snapshots) flipByte(file, statSync(file).size - 2);
  await assertRefusesToStart(
    cluster,
    join(memberDir, 'snap'),
    /snapshot: (.*\.snap is corrupt: data checksum mismatch|no snapshot file for index \d+ in )/,
  );
});

test('snapshot: a corrupt newest snapshot is skipped; the member serves exactly its data', async () => {
  const { cluster, memberDir } = await stoppedMemberWithData();
  const snapshots = filesIn(join(memberDir, 'snap'), '.snap');
  flipByte(snapshots[snapshots.length - 1], statSync(snapshots[snapshots.length - 1]).size - 2);
  await assertServesAllKeys(cluster);
});

test('LMDB: a data file cut below its two meta pages stops the member, naming it', async () => {
  const { cluster, memberDir } = await stoppedMemberWithData();
  const dataFile = join(memberDir, 'db', 'data.mdb');
  truncateSync(dataFile, 4096);
  await assertRefusesToStart(cluster, dataFile, /smaller than LMDB's two meta pages/);
});

test('LMDB: a data file shorter than its newest transaction needs stops the member, naming it', async () => {
  const { cluster, memberDir } = await stoppedMemberWithData();
  const dataFile = join(memberDir, 'db', 'data.mdb');
  truncateSync(dataFile, 3 * 8192);
  await assertRefusesToStart(
    cluster,
    dataFile,
    /truncated: 24576 bytes, but transaction \d+ uses pages up to byte \d+/,
  );
});

test('LMDB: a meta page without the magic number stops the member, naming the file', async () => {
  const { cluster, memberDir } = await stoppedMemberWithData();
  const dataFile = join(memberDir, 'db', 'data.mdb');
  // The magic is the first field after the page header (24 bytes in lmdb-js 3's LMDB). Without
  // the check, lmdb-js kills the process with a signal and no message.
  flipByte(dataFile, 8192 + 24);
  await assertRefusesToStart(cluster, dataFile, /meta page 1 does not have the LMDB magic number/);
});
