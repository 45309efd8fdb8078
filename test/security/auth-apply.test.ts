// The check at apply time (etcd's authApplierV3): a KV write carries its caller through Raft and
// is checked again against the auth state at its place in the log. A write proposed right after
// its permission is revoked — allowed when received, refused when applied — must not happen.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PermissionType } from '../../src/auth/permissions.js';
import type { AuthOp } from '../../src/auth/store.js';
import { createLogger } from '../../src/observability/logging.js';
import { NodeObservability } from '../../src/observability/node-observability.js';
import { parseServerConfig } from '../../src/server/config.js';
import { FlotillaNode } from '../../src/server/node.js';
import { waitFor } from '../support/flotilla.js';
import { freePortPair, LOOPBACK_HOST } from '../support/ports.js';

const key = new Uint8Array(Buffer.from('k'));
const EMPTY = new Uint8Array(0);

let node: FlotillaNode;
let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'flotilla-auth-apply-'));
  const [clientPort, peerPort] = await freePortPair();
  const config = parseServerConfig(
    [
      '--name=a1',
      `--data-dir=${join(root, 'a1')}`,
      `--listen-client-urls=http://${LOOPBACK_HOST}:${clientPort}`,
      `--listen-peer-urls=http://${LOOPBACK_HOST}:${peerPort}`,
    ],
    {},
  );
  const observability = new NodeObservability(config, {
    processMetrics: false,
    logger: createLogger({ level: 'error', member: config.name }),
  });
  node = await FlotillaNode.start(config, observability);
  await waitFor('a leader', 10_000, async () => (node.isLeader() ? true : undefined));
  const setup: AuthOp[] = [
    { kind: 'userAdd', by: null, name: 'root', passwordHash: null },
    { kind: 'userGrantRole', by: null, user: 'root', role: 'root' },
    { kind: 'roleAdd', by: null, name: 'writer' },
    {
      kind: 'roleGrantPermission',
      by: null,
      name: 'writer',
      permission: { permType: PermissionType.READWRITE, key, rangeEnd: EMPTY },
    },
    { kind: 'userAdd', by: null, name: 'alice', passwordHash: null },
    { kind: 'userGrantRole', by: null, user: 'alice', role: 'writer' },
    { kind: 'enable', by: null },
  ];
  for (const op of setup) assert.equal((await node.proposeAuth(op)).ok, true, op.kind);
});

after(async () => {
  await node?.stop();
  rmSync(root, { recursive: true, force: true });
});

test('a write that reaches the log after its permission was revoked is refused when applied', async () => {
  const first = await node.propose({ type: 'put', put: { key, value: Buffer.from('1') } }, 'alice');
  assert.equal(first.status, 'applied');
  // Both proposed in the same turn: the revoke is ahead of the put in the log.
  const revoke = node.proposeAuth({
    kind: 'roleRevokePermission',
    by: 'root',
    role: 'writer',
    key,
    rangeEnd: EMPTY,
  });
  const put = node.propose({ type: 'put', put: { key, value: Buffer.from('2') } }, 'alice');
  assert.equal((await revoke).ok, true);
  await assert.rejects(put, { message: 'etcdserver: permission denied', code: 7 });
  assert.equal(Buffer.from(node.mvcc.range({ key }).kvs[0].value).toString(), '1');
});

test('writes without a caller (internal, or sent while auth was off) are not checked at apply', async () => {
  const result = await node.propose({ type: 'put', put: { key, value: Buffer.from('3') } });
  assert.equal(result.status, 'applied');
});
