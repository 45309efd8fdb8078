// The auth rules as pure functions: permission coverage over keys, ranges, prefixes and open
// ends; the auth store's rules for root, users and roles; what each KV request needs; simple
// token lifetimes; the per-client attempt limit.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { putNeeds, txnNeeds } from '../../src/auth/needs.js';
import { type KeyPermission, type Need, PermissionType, permits } from '../../src/auth/permissions.js';
import { type AuthOp, AuthStore } from '../../src/auth/store.js';
import { SimpleTokens, tokenOf } from '../../src/auth/tokens.js';
import { AttemptLimiter } from '../../src/server/api/attempt-limiter.js';

const b = (text: string) => new Uint8Array(Buffer.from(text));
const EMPTY = new Uint8Array(0);
const OPEN = new Uint8Array([0]);

const perm = (
  permType: PermissionType,
  key: string,
  rangeEnd: Uint8Array | string = EMPTY,
): KeyPermission => ({
  permType,
  key: b(key),
  rangeEnd: typeof rangeEnd === 'string' ? b(rangeEnd) : rangeEnd,
});
const read = (key: string, rangeEnd: Uint8Array | string = EMPTY): Need => ({
  access: 'read',
  key: b(key),
  rangeEnd: typeof rangeEnd === 'string' ? b(rangeEnd) : rangeEnd,
});
const write = (key: string, rangeEnd: Uint8Array | string = EMPTY): Need => ({
  ...read(key, rangeEnd),
  access: 'write',
});

describe('permission coverage (etcd range_perm_cache semantics)', () => {
  test('a single-key permission covers exactly that key', () => {
    const perms = [perm(PermissionType.READ, 'foo')];
    assert.equal(permits(perms, read('foo')), true);
    assert.equal(permits(perms, read('foo0')), false);
    assert.equal(permits(perms, read('fo')), false);
    // [foo, foo\0) is the key foo alone: covered.
    assert.equal(permits(perms, read('foo', b('foo\0'))), true);
    assert.equal(permits(perms, read('foo', 'fop')), false);
  });

  test('a range permission covers keys and sub-ranges inside [key, range_end) only', () => {
    const perms = [perm(PermissionType.READ, 'a', 'c')];
    assert.equal(permits(perms, read('a')), true);
    assert.equal(permits(perms, read('bzzz')), true);
    assert.equal(permits(perms, read('c')), false);
    assert.equal(permits(perms, read('a', 'c')), true);
    assert.equal(permits(perms, read('b', 'c')), true);
    assert.equal(permits(perms, read('a', 'd')), false);
  });

  test('adjacent ranges together cover their union; a gap breaks it', () => {
    assert.equal(
      permits([perm(PermissionType.READ, 'a', 'c'), perm(PermissionType.READ, 'c', 'e')], read('a', 'e')),
      true,
    );
    assert.equal(
      permits([perm(PermissionType.READ, 'c', 'e'), perm(PermissionType.READ, 'a', 'c')], read('b', 'd')),
      true,
    );
    assert.equal(
      permits([perm(PermissionType.READ, 'a', 'c'), perm(PermissionType.READ, 'd', 'e')], read('a', 'e')),
      false,
    );
  });

  test('a prefix permission ([pre/, pre0)) covers the prefix but not a wider one', () => {
    const perms = [perm(PermissionType.READ, 'pre/', 'pre0')];
    assert.equal(permits(perms, read('pre/x')), true);
    assert.equal(permits(perms, read('pre/', 'pre0')), true);
    assert.equal(permits(perms, read('pr', 'ps')), false);
  });

  test('range_end "\\0" is open ended, in permissions and in requests', () => {
    const perms = [perm(PermissionType.WRITE, 'z', OPEN)];
    assert.equal(permits(perms, write('z')), true);
    assert.equal(permits(perms, write('zzzz')), true);
    assert.equal(permits(perms, write('y')), false);
    assert.equal(permits(perms, write('z', OPEN)), true);
    assert.equal(permits(perms, write('y', OPEN)), false);
    // A bounded permission never covers an open-ended request.
    assert.equal(permits([perm(PermissionType.WRITE, 'a', b('\xff\xff'))], write('a', OPEN)), false);
    // The empty key with "\0": every key.
    const everything = [perm(PermissionType.READ, '', OPEN)];
    assert.equal(permits(everything, read('', OPEN)), true);
    assert.equal(permits(everything, read('\0')), true);
  });

  test('the key "\\0" is an ordinary smallest key', () => {
    const perms = [perm(PermissionType.READ, '\0')];
    assert.equal(permits(perms, read('\0')), true);
    assert.equal(permits(perms, read('\0', OPEN)), false);
  });

  test('READ does not grant write, WRITE does not grant read, READWRITE grants both', () => {
    assert.equal(permits([perm(PermissionType.READ, 'k')], write('k')), false);
    assert.equal(permits([perm(PermissionType.WRITE, 'k')], read('k')), false);
    assert.equal(permits([perm(PermissionType.READWRITE, 'k')], read('k')), true);
    assert.equal(permits([perm(PermissionType.READWRITE, 'k')], write('k')), true);
  });

  test('an empty or inverted request range is refused (no interval contains it)', () => {
    const perms = [perm(PermissionType.READ, 'a', 'z')];
    assert.equal(permits(perms, read('m', 'c')), false);
    assert.equal(permits(perms, read('m', 'm')), false);
  });
});

describe('what requests need', () => {
  test('put with prev_kv needs read as well as write', () => {
    assert.deepEqual(
      putNeeds({ key: b('k'), prevKv: true }).map((n) => n.access),
      ['write', 'read'],
    );
  });

  test('a txn needs its compares, both branches and nested txns', () => {
    const needs = txnNeeds({
      compare: [{ key: b('c'), target: 0, result: 0, version: 0 }],
      success: [{ type: 'put', put: { key: b('s') } }],
      failure: [
        {
          type: 'txn',
          txn: { success: [{ type: 'deleteRange', deleteRange: { key: b('n'), prevKv: true } }] },
        },
      ],
    });
    const seen = needs.map((n) => `${n.access}:${Buffer.from(n.key).toString()}`);
    assert.deepEqual(seen, ['read:c', 'write:s', 'write:n', 'read:n']);
  });
});

/** A store with root (holding root) and auth enabled, plus user u with role r. */
function enabledStore(): AuthStore {
  const store = new AuthStore();
  const ops: AuthOp[] = [
    { kind: 'userAdd', by: null, name: 'root', passwordHash: 'h' },
    { kind: 'userGrantRole', by: null, user: 'root', role: 'root' },
    { kind: 'roleAdd', by: null, name: 'r' },
    { kind: 'userAdd', by: null, name: 'u', passwordHash: 'h' },
    { kind: 'userGrantRole', by: null, user: 'u', role: 'r' },
    { kind: 'enable', by: null },
  ];
  for (const op of ops) assert.equal(store.apply(op).ok, true, op.kind);
  return store;
}

function errorOf(store: AuthStore, op: AuthOp): string {
  const outcome = store.apply(op);
  assert.equal(outcome.ok, false, `${op.kind} should fail`);
  return outcome.ok ? '' : outcome.error.message;
}

describe('auth store rules (etcd auth/store.go)', () => {
  test('enable needs a root user holding the root role', () => {
    const store = new AuthStore();
    assert.equal(errorOf(store, { kind: 'enable', by: null }), 'etcdserver: root user does not exist');
    store.apply({ kind: 'userAdd', by: null, name: 'root', passwordHash: 'h' });
    assert.equal(
      errorOf(store, { kind: 'enable', by: null }),
      'etcdserver: root user does not have root role',
    );
    // The root role needs no entry to be granted.
    assert.equal(store.apply({ kind: 'userGrantRole', by: null, user: 'root', role: 'root' }).ok, true);
    assert.equal(store.apply({ kind: 'enable', by: null }).ok, true);
    assert.equal(store.isEnabled(), true);
  });

  test('while enabled, root cannot be deleted, lose the root role, nor the root role be deleted', () => {
    const store = enabledStore();
    assert.equal(
      errorOf(store, { kind: 'userDelete', by: 'root', name: 'root' }),
      'etcdserver: invalid auth management',
    );
    assert.equal(
      errorOf(store, { kind: 'userRevokeRole', by: 'root', name: 'root', role: 'root' }),
      'etcdserver: invalid auth management',
    );
    store.apply({ kind: 'roleAdd', by: 'root', name: 'root' });
    assert.equal(
      errorOf(store, { kind: 'roleDelete', by: 'root', role: 'root' }),
      'etcdserver: invalid auth management',
    );
  });

  test('management ops are re-checked at apply time: a user without the root role is refused', () => {
    const store = enabledStore();
    assert.equal(errorOf(store, { kind: 'roleAdd', by: 'u', name: 'x' }), 'etcdserver: permission denied');
    assert.equal(errorOf(store, { kind: 'roleAdd', by: null, name: 'x' }), 'etcdserver: user name is empty');
    assert.equal(
      errorOf(store, { kind: 'roleAdd', by: 'ghost', name: 'x' }),
      'etcdserver: user name not found',
    );
  });

  test('duplicates, missing names and ungranted revokes answer etcd errors', () => {
    const store = enabledStore();
    assert.equal(
      errorOf(store, { kind: 'userAdd', by: 'root', name: 'u', passwordHash: 'h' }),
      'etcdserver: user name already exists',
    );
    assert.equal(
      errorOf(store, { kind: 'roleAdd', by: 'root', name: 'r' }),
      'etcdserver: role name already exists',
    );
    assert.equal(
      errorOf(store, { kind: 'userGrantRole', by: 'root', user: 'u', role: 'nope' }),
      'etcdserver: role name not found',
    );
    assert.equal(
      errorOf(store, { kind: 'userRevokeRole', by: 'root', name: 'u', role: 'root' }),
      'etcdserver: role is not granted to the user',
    );
    assert.equal(
      errorOf(store, { kind: 'roleRevokePermission', by: 'root', role: 'r', key: b('k'), rangeEnd: EMPTY }),
      'etcdserver: permission is not granted to the role',
    );
  });

  test('key checks: root may do anything, others need a covering permission, no token is "user name is empty"', () => {
    const store = enabledStore();
    store.apply({
      kind: 'roleGrantPermission',
      by: 'root',
      name: 'r',
      permission: perm(PermissionType.READ, 'a', 'c'),
    });
    assert.equal(store.keyRefusal('root', [write('anything')]), null);
    assert.equal(store.keyRefusal('u', [read('b')]), null);
    assert.equal(store.keyRefusal('u', [write('b')])?.message, 'etcdserver: permission denied');
    assert.equal(store.keyRefusal(null, [read('b')])?.message, 'etcdserver: user name is empty');
  });

  test('granting the same key and range again replaces the permission type', () => {
    const store = enabledStore();
    store.apply({
      kind: 'roleGrantPermission',
      by: 'root',
      name: 'r',
      permission: perm(PermissionType.READ, 'k'),
    });
    store.apply({
      kind: 'roleGrantPermission',
      by: 'root',
      name: 'r',
      permission: perm(PermissionType.WRITE, 'k'),
    });
    assert.deepEqual(
      store.role('r')?.permissions.map((p) => p.permType),
      [PermissionType.WRITE],
    );
  });

  test('deleting a role takes it from every user', () => {
    const store = enabledStore();
    assert.equal(store.apply({ kind: 'roleDelete', by: 'root', role: 'r' }).ok, true);
    assert.deepEqual(store.user('u')?.roles, []);
  });

  test('an authentication checked against a password since changed issues no token', () => {
    const store = enabledStore();
    const authenticate = (passwordHash: string): AuthOp => ({
      kind: 'authenticate',
      name: 'u',
      passwordHash,
      tokenPrefix: 'p',
      issuedAtMs: 0,
    });
    assert.equal(store.apply(authenticate('h')).ok, true);
    store.apply({ kind: 'userChangePassword', by: 'root', name: 'u', passwordHash: 'h2' });
    assert.equal(
      errorOf(store, authenticate('h')),
      'etcdserver: authentication failed, invalid user ID or password',
    );
  });

  test('a snapshot restores the same state into a fresh store', () => {
    const store = enabledStore();
    store.apply({
      kind: 'roleGrantPermission',
      by: 'root',
      name: 'r',
      permission: perm(PermissionType.READ, 'a', OPEN),
    });
    const copy = new AuthStore();
    copy.restore(store.snapshot());
    assert.deepEqual(copy.snapshot(), store.snapshot());
    assert.equal(copy.keyRefusal('u', [read('zzz')]), null);
  });
});

describe('simple tokens', () => {
  test('a token lives its TTL past its last use, and is refused after', () => {
    const tokens = new SimpleTokens(1_000);
    const token = tokenOf('abc', 7);
    assert.equal(token, 'abc.7');
    tokens.assign(token, 'u', 0, 0);
    assert.equal(tokens.use(token, 900)?.user ?? null, 'u'); // extends to 1900
    assert.equal(tokens.use(token, 1_800)?.user ?? null, 'u');
    assert.equal(tokens.use(token, 2_801)?.user ?? null, null);
  });

  test('replaying an old Authenticate entry does not revive an expired token', () => {
    const tokens = new SimpleTokens(1_000);
    tokens.assign('old.1', 'u', 0, 5_000);
    assert.equal(tokens.use('old.1', 5_000)?.user ?? null, null);
  });

  test("deleting a user ends its tokens and no one else's", () => {
    const tokens = new SimpleTokens(1_000);
    tokens.assign('a.1', 'u', 0, 0);
    tokens.assign('b.2', 'v', 0, 0);
    tokens.invalidateUser('u');
    assert.equal(tokens.use('a.1', 1)?.user ?? null, null);
    assert.equal(tokens.use('b.2', 1)?.user ?? null, 'v');
  });
});

describe('attempt limiter', () => {
  test('allows perSecond attempts per client, then refuses until time refills the bucket', () => {
    const limiter = new AttemptLimiter(2);
    assert.equal(limiter.tryAttempt('x', 0), true);
    assert.equal(limiter.tryAttempt('x', 0), true);
    assert.equal(limiter.tryAttempt('x', 0), false);
    assert.equal(limiter.tryAttempt('y', 0), true, 'another client has its own budget');
    assert.equal(limiter.tryAttempt('x', 500), true, 'half a second refills one attempt');
    assert.equal(limiter.tryAttempt('x', 500), false);
  });
});
