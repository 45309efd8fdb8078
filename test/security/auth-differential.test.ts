// The same script of Auth, KV, Watch and Maintenance calls against a fresh etcd 3.4 and a fresh
// Flotilla member: every answer must match — responses (without headers; tokens only by shape)
// and errors (gRPC code and exact message). Covers the admin RPCs, the errors of each, token
// handling, and what a user may and may not do.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EtcdProcess, etcdSkipReason, startEtcd } from '../support/etcd.js';
import { FlotillaCluster } from '../support/flotilla.js';
import type { RpcResult } from '../support/grpc-client.js';
import { AuthRpc, type ServiceName } from './auth-rpc.js';

type Identity = 'anonymous' | 'root' | 'alice' | 'alice-before-password-change' | 'forged';

interface Call {
  readonly kind: 'call';
  readonly service: ServiceName;
  readonly method: string;
  readonly request?: Record<string, unknown>;
  readonly as?: Identity;
}

/** Authenticate and keep the token under `as` for later calls. */
interface Login {
  readonly kind: 'login';
  readonly name: string;
  readonly password: string;
  readonly as: Identity;
}

type Step = Call | Login;

const key = (text: string) => Buffer.from(text);
const auth = (method: string, request: Record<string, unknown> = {}, as?: Identity): Call => ({
  kind: 'call',
  service: 'Auth',
  method,
  request,
  as,
});
const kv = (method: string, request: Record<string, unknown>, as?: Identity): Call => ({
  kind: 'call',
  service: 'KV',
  method,
  request,
  as,
});
const login = (name: string, password: string, as: Identity): Login => ({
  kind: 'login',
  name,
  password,
  as,
});

const READ = 0;
const WRITE = 1;
const READWRITE = 2;

const SCRIPT: readonly Step[] = [
  // Auth disabled: management works without a token; Authenticate refuses.
  login('root', 'rootpw', 'root'),
  auth('UserAdd', { name: '', password: 'x' }),
  auth('UserAdd', { name: 'root', password: 'rootpw' }),
  auth('UserAdd', { name: 'root', password: 'again' }),
  auth('UserGet', { name: 'root' }),
  auth('UserGet', { name: 'nobody' }),
  auth('RoleAdd', { name: '' }),
  auth('RoleAdd', { name: 'app' }),
  auth('RoleAdd', { name: 'app' }),
  auth('RoleGrantPermission', {
    name: 'app',
    perm: { permType: READWRITE, key: key('a'), range_end: key('c') },
  }),
  auth('RoleGrantPermission', { name: 'app', perm: { permType: READ, key: key('k') } }),
  auth('RoleGrantPermission', {
    name: 'app',
    perm: { permType: WRITE, key: key('z'), range_end: key('\0') },
  }),
  auth('RoleGrantPermission', { name: 'app', perm: { permType: WRITE, key: key('k') } }),
  auth('RoleGrantPermission', { name: 'app', perm: { permType: READ, key: key('k') } }),
  auth('RoleGrantPermission', { name: 'nope', perm: { permType: READ, key: key('k') } }),
  auth('RoleGet', { role: 'app' }),
  auth('RoleGet', { role: 'nope' }),
  auth('RoleList'),
  auth('UserAdd', { name: 'alice', password: 'alicepw' }),
  auth('UserGrantRole', { user: 'alice', role: 'app' }),
  auth('UserGrantRole', { user: 'alice', role: 'nope' }),
  auth('UserGrantRole', { user: 'nobody', role: 'app' }),
  auth('UserRevokeRole', { name: 'alice', role: 'root' }),
  auth('RoleRevokePermission', { role: 'app', key: key('x') }),
  auth('RoleRevokePermission', { role: 'nope', key: key('x') }),
  auth('UserList'),
  // Enabling.
  auth('AuthEnable'),
  auth('UserGrantRole', { user: 'root', role: 'root' }),
  auth('AuthEnable'),
  auth('AuthEnable'),
  login('root', 'wrong', 'root'),
  login('nobody', 'rootpw', 'root'),
  login('root', 'rootpw', 'root'),
  login('alice', 'alicepw', 'alice'),
  auth('AuthEnable', {}, 'root'),
  auth('UserList', {}, 'root'),
  auth('RoleList', {}, 'root'),
  auth('UserGet', { name: 'alice' }, 'root'),
  // What alice may read about auth: herself and her roles only.
  auth('UserList', {}, 'alice'),
  auth('UserGet', { name: 'alice' }, 'alice'),
  auth('UserGet', { name: 'root' }, 'alice'),
  auth('RoleGet', { role: 'app' }, 'alice'),
  auth('RoleGet', { role: 'root' }, 'alice'),
  auth('RoleAdd', { name: 'x' }, 'alice'),
  auth('UserAdd', { name: 'y', password: 'y' }, 'alice'),
  auth('AuthDisable', {}, 'alice'),
  // Anonymous and forged callers.
  kv('Range', { key: key('b') }),
  kv('Put', { key: key('b'), value: key('v') }),
  auth('UserList'),
  kv('Range', { key: key('b') }, 'forged'),
  kv('Put', { key: key('b'), value: key('v') }, 'forged'),
  auth('UserList', {}, 'forged'),
  // KV within and outside alice's permissions.
  kv('Put', { key: key('b'), value: key('1') }, 'alice'),
  kv('Range', { key: key('b') }, 'alice'),
  kv('Range', { key: key('a'), range_end: key('c') }, 'alice'),
  kv('Range', { key: key('a'), range_end: key('d') }, 'alice'),
  kv('Range', { key: key('a'), range_end: key('\0') }, 'alice'),
  kv('Put', { key: key('k'), value: key('1') }, 'alice'),
  kv('Range', { key: key('k') }, 'alice'),
  kv('Put', { key: key('zz'), value: key('1') }, 'alice'),
  kv('Range', { key: key('zz') }, 'alice'),
  kv('Put', { key: key('zz'), value: key('2'), prev_kv: true }, 'alice'),
  kv('DeleteRange', { key: key('zz'), prev_kv: true }, 'alice'),
  kv('DeleteRange', { key: key('zz') }, 'alice'),
  kv('Put', { key: key('q'), value: key('1') }, 'alice'),
  kv('Range', { key: key('q') }, 'root'),
  kv('Txn', { success: [{ request_put: { key: key('b'), value: key('t') } }] }, 'alice'),
  kv('Txn', { success: [{ request_put: { key: key('q'), value: key('t') } }] }, 'alice'),
  kv('Txn', { failure: [{ request_range: { key: key('q') } }] }, 'alice'),
  kv(
    'Txn',
    {
      compare: [{ key: key('q'), version: '0' }],
      success: [{ request_put: { key: key('b'), value: key('c') } }],
    },
    'alice',
  ),
  kv(
    'Txn',
    {
      compare: [{ key: key('b'), version: '0' }],
      success: [{ request_put: { key: key('b'), value: key('c') } }],
    },
    'alice',
  ),
  // Lock and Election act with the caller's permissions (etcd answers their refusals as Unknown).
  { kind: 'call', service: 'Lock', method: 'Lock', request: { name: key('secret') }, as: 'alice' },
  { kind: 'call', service: 'Lock', method: 'Lock', request: { name: key('secret') } },
  { kind: 'call', service: 'Lock', method: 'Unlock', request: { key: key('secret/1') }, as: 'alice' },
  { kind: 'call', service: 'Election', method: 'Campaign', request: { name: key('secret') }, as: 'alice' },
  { kind: 'call', service: 'Election', method: 'Leader', request: { name: key('secret') }, as: 'alice' },
  { kind: 'call', service: 'Election', method: 'Leader', request: { name: key('b') }, as: 'alice' },
  // Admin-only maintenance and membership.
  { kind: 'call', service: 'Maintenance', method: 'HashKV', request: {}, as: 'alice' },
  { kind: 'call', service: 'Maintenance', method: 'Defragment', request: {}, as: 'alice' },
  { kind: 'call', service: 'Maintenance', method: 'HashKV', request: {} },
  {
    kind: 'call',
    service: 'Cluster',
    method: 'MemberAdd',
    request: { peerURLs: ['http://127.0.0.1:1'] },
    as: 'alice',
  },
  { kind: 'call', service: 'Cluster', method: 'MemberRemove', request: { ID: '1' } },
  // Root's limits while enabled.
  auth('UserDelete', { name: 'root' }, 'root'),
  auth('UserRevokeRole', { name: 'root', role: 'root' }, 'root'),
  auth('RoleDelete', { role: 'root' }, 'root'),
  auth('UserDelete', { name: 'nobody' }, 'root'),
  auth('RoleDelete', { role: 'nope' }, 'root'),
  auth('UserChangePassword', { name: 'nobody', password: 'x' }, 'root'),
  // A password change ends the user's tokens.
  login('alice', 'alicepw', 'alice-before-password-change'),
  auth('UserChangePassword', { name: 'alice', password: 'newpw' }, 'root'),
  kv('Range', { key: key('b') }, 'alice-before-password-change'),
  login('alice', 'alicepw', 'alice'),
  login('alice', 'newpw', 'alice'),
  kv('Range', { key: key('b') }, 'alice'),
  auth('RoleRevokePermission', { role: 'app', key: key('a'), range_end: key('c') }, 'root'),
  kv('Range', { key: key('b') }, 'alice'),
  auth('RoleDelete', { role: 'app' }, 'root'),
  auth('UserGet', { name: 'alice' }, 'root'),
  auth('UserDelete', { name: 'alice' }, 'root'),
  kv('Range', { key: key('b') }, 'alice'),
  // Disabling.
  auth('AuthDisable', {}, 'root'),
  auth('AuthDisable'),
  login('root', 'rootpw', 'root'),
  kv('Range', { key: key('b') }),
  kv('Range', { key: key('b') }, 'root'),
  auth('UserList'),
];

/** What a step answered, comparable across servers: no headers, tokens only by their shape. */
function comparable(result: RpcResult<Record<string, unknown>>): unknown {
  if ('error' in result) return result;
  const { header: _header, token, ...rest } = result.response;
  if (typeof token === 'string')
    return { ...rest, token: /^[a-zA-Z]{16}\.[0-9]+$/.test(token) ? '<simple>' : token };
  return rest;
}

async function runScript(address: string): Promise<unknown[]> {
  const rpc = new AuthRpc(address);
  const tokens = new Map<Identity, string>([['forged', 'AAAAAAAAAAAAAAAA.1']]);
  const answers: unknown[] = [];
  try {
    for (const step of SCRIPT) {
      if (step.kind === 'login') {
        const result = await rpc.call<Record<string, unknown>>('Auth', 'Authenticate', {
          name: step.name,
          password: step.password,
        });
        if ('response' in result) tokens.set(step.as, String(result.response.token));
        answers.push(comparable(result));
        continue;
      }
      const token = step.as === undefined || step.as === 'anonymous' ? undefined : tokens.get(step.as);
      answers.push(comparable(await rpc.call(step.service, step.method, step.request ?? {}, token)));
    }
  } finally {
    rpc.close();
  }
  return answers;
}

function describeStep(step: Step): string {
  if (step.kind === 'login') return `Authenticate ${step.name}/${step.password} as ${step.as}`;
  return `${step.service}.${step.method} ${JSON.stringify(step.request ?? {})} as ${step.as ?? 'anonymous'}`;
}

describe('auth: Flotilla answers the admin RPCs and their errors as etcd 3.4 does', {
  skip: etcdSkipReason(),
}, () => {
  let etcd: EtcdProcess;
  let flotilla: FlotillaCluster;

  before(async () => {
    etcd = await startEtcd();
    flotilla = await FlotillaCluster.start(1, ['--bcrypt-cost=4', '--auth-attempts-per-second=1000']);
  });
  after(async () => {
    await etcd?.stop();
    await flotilla?.stop();
  });

  test('the same script gets the same answers', async () => {
    const expected = await runScript(etcd.address);
    const actual = await runScript(flotilla.address(0));
    for (let i = 0; i < SCRIPT.length; i++) {
      assert.deepEqual(actual[i], expected[i], `step ${i}: ${describeStep(SCRIPT[i])}`);
    }
  });

  test('AuthStatus, which etcd 3.4 does not serve, is answered as 3.4 answers it', async () => {
    const answers = await Promise.all(
      [etcd.address, flotilla.address(0)].map(async (address) => {
        const rpc = new AuthRpc(address);
        try {
          return await rpc.call('Auth', 'AuthStatus');
        } finally {
          rpc.close();
        }
      }),
    );
    assert.deepEqual(answers[1], answers[0]);
  });
});
