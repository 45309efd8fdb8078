// `flotilla serve` as an operator meets it: bad flags and a data dir from another cluster stop
// the process with a clear message and a non-zero exit.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, FlotillaCluster } from '../support/flotilla.js';

const run = promisify(execFile);
let cluster: FlotillaCluster | undefined;
after(async () => cluster?.stop());

test('a bad flag stops flotilla serve with exit code 2 and names the flag', async () => {
  await assert.rejects(
    run(process.execPath, [BIN, 'serve', '--max-txn-ops=lots']),
    (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr ?? '', /--max-txn-ops: 'lots' must be a positive integer/);
      return true;
    },
  );
});

test('a data dir from another cluster is refused with a message naming both clusters', async () => {
  cluster = await FlotillaCluster.start(1);
  const member = cluster.members[0];
  await cluster.kill(0, 'SIGTERM');
  // Same data dir, but flags that describe a different cluster (another token).
  await assert.rejects(
    run(process.execPath, [
      BIN,
      'serve',
      ...cluster.clusterFlags(0),
      `--listen-client-urls=http://127.0.0.1:${member.clientPort}`,
      '--initial-cluster-token=another-cluster',
    ]),
    (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 1);
      assert.match(
        error.stderr ?? '',
        /data dir .* belongs to member [0-9a-f]+ of cluster [0-9a-f]+, but .* describe member [0-9a-f]+ of cluster [0-9a-f]+/,
      );
      return true;
    },
  );
});
