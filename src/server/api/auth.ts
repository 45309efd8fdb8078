// etcdserverpb.Auth: users, roles, permissions, AuthEnable/Disable and Authenticate. The state
// lives in src/auth (replicated through Raft); this layer checks the caller, hashes passwords on
// the receiving member (bcrypt, --bcrypt-cost: slow on purpose, so on the thread pool and never
// in the apply path), proposes the change and answers with etcd's responses and errors.
//
// Management RPCs need the root role while auth is enabled (etcd's needAdminPermission), except
// that a user may read itself (UserGet) and the roles it holds (RoleGet). Reads of the auth state
// wait for a ReadIndex first, as etcd 3.4 serves them through Raft.

import { hash, verify } from '@node-rs/bcrypt';
import {
  authFailed,
  authNotEnabled,
  roleEmpty,
  roleNotFound,
  tooManyAttempts,
  userEmpty,
  userNotFound,
} from '../../auth/errors.js';
import { type KeyPermission, PermissionType } from '../../auth/permissions.js';
import type { AuthOp } from '../../auth/store.js';
import { newTokenPrefix } from '../../auth/tokens.js';
import type { FlotillaNode } from '../node.js';
import { AttemptLimiter } from './attempt-limiter.js';
import { callerOf, requireAdmin } from './authorize.js';
import type { HeaderSource, ProtoObject } from './convert.js';
import type { CallContext } from './grpc.js';

const EMPTY = new Uint8Array(0);

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function bytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? new Uint8Array(value) : EMPTY;
}

function permissionType(value: unknown): PermissionType {
  const n = Number(value ?? 0);
  return n === PermissionType.WRITE || n === PermissionType.READWRITE ? n : PermissionType.READ;
}

function permissionProto(permission: KeyPermission): ProtoObject {
  return {
    permType: permission.permType,
    key: Buffer.from(permission.key),
    range_end: Buffer.from(permission.rangeEnd),
  };
}

export function authService(node: FlotillaNode, headers: HeaderSource) {
  const limiter = new AttemptLimiter(node.config.authAttemptsPerSecond);
  const header = () => ({ header: headers.header(node.mvcc.currentRevision()) });

  /** Proposes `op` and answers with a bare header, or throws the error applying it produced. */
  async function change(op: AuthOp): Promise<ProtoObject> {
    const outcome = await node.proposeAuth(op);
    if (!outcome.ok) throw outcome.error;
    return header();
  }

  function hashPassword(password: string): Promise<string> {
    return hash(password, { cost: node.config.bcryptCost });
  }

  /** A hash no password matches (made once, at the configured cost), checked for unknown users. */
  let unknownUser: Promise<string> | null = null;
  const unknownUserHash = (): Promise<string> => {
    unknownUser ??= hashPassword(newTokenPrefix());
    return unknownUser;
  };

  /** A management RPC: the caller must be admin; returns the caller's name for the replicated op. */
  const admin = (call: CallContext): string | null => requireAdmin(node, call.metadata);

  return {
    async AuthEnable(_: ProtoObject, __: () => boolean, call: CallContext): Promise<ProtoObject> {
      return change({ kind: 'enable', by: admin(call) });
    },

    async AuthDisable(_: ProtoObject, __: () => boolean, call: CallContext): Promise<ProtoObject> {
      return change({ kind: 'disable', by: admin(call) });
    },

    async Authenticate(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      if (!node.auth.isEnabled()) throw authNotEnabled();
      if (!limiter.tryAttempt(call.peer, Date.now())) throw tooManyAttempts(call.peer, limiter.perSecond);
      const name = text(request.name);
      const user = node.auth.user(name);
      // A missing user costs a bcrypt check too, so answer times do not tell which names exist.
      // A user added with no_password cannot authenticate (etcd: ErrAuthFailed).
      const passwordHash = user?.passwordHash ?? (await unknownUserHash());
      const matches = await verify(text(request.password), passwordHash);
      if (!matches || user === undefined || user.passwordHash === null) throw authFailed();
      const outcome = await node.proposeAuth({
        kind: 'authenticate',
        name,
        passwordHash: user.passwordHash,
        tokenPrefix: newTokenPrefix(),
        issuedAtMs: Date.now(),
      });
      if (!outcome.ok) throw outcome.error;
      return { ...header(), token: outcome.token };
    },

    async UserAdd(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const by = admin(call);
      const name = text(request.name);
      if (name === '') throw userEmpty();
      const noPassword = (request.options as ProtoObject | undefined)?.no_password === true;
      const passwordHash = noPassword ? null : await hashPassword(text(request.password));
      return change({ kind: 'userAdd', by, name, passwordHash });
    },

    async UserGet(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const name = text(request.name);
      // A user may read itself without the root role (etcd's authApplierV3.UserGet).
      if (node.auth.isEnabled() && callerOf(node, call.metadata) !== name) admin(call);
      await node.linearizableRead();
      const user = node.auth.user(name);
      if (user === undefined) throw userNotFound();
      return { ...header(), roles: [...user.roles] };
    },

    async UserList(_: ProtoObject, __: () => boolean, call: CallContext): Promise<ProtoObject> {
      admin(call);
      await node.linearizableRead();
      return { ...header(), users: node.auth.userNames() };
    },

    async UserDelete(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      return change({ kind: 'userDelete', by: admin(call), name: text(request.name) });
    },

    async UserChangePassword(
      request: ProtoObject,
      _: () => boolean,
      call: CallContext,
    ): Promise<ProtoObject> {
      const by = admin(call);
      const name = text(request.name);
      const user = node.auth.user(name);
      // Keep a no-password user without one, as etcd does; the apply step reports a missing user.
      const passwordHash =
        user !== undefined && user.passwordHash === null ? null : await hashPassword(text(request.password));
      return change({ kind: 'userChangePassword', by, name, passwordHash });
    },

    async UserGrantRole(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      return change({
        kind: 'userGrantRole',
        by: admin(call),
        user: text(request.user),
        role: text(request.role),
      });
    },

    async UserRevokeRole(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      return change({
        kind: 'userRevokeRole',
        by: admin(call),
        name: text(request.name),
        role: text(request.role),
      });
    },

    async RoleAdd(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const by = admin(call);
      const name = text(request.name);
      if (name === '') throw roleEmpty();
      return change({ kind: 'roleAdd', by, name });
    },

    async RoleGet(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      const name = text(request.role);
      // A user may read the roles it holds (etcd's authApplierV3.RoleGet).
      if (node.auth.isEnabled()) {
        const caller = callerOf(node, call.metadata);
        if (caller === null || !node.auth.hasRole(caller, name)) admin(call);
      }
      await node.linearizableRead();
      const role = node.auth.role(name);
      if (role === undefined) throw roleNotFound();
      return { ...header(), perm: role.permissions.map(permissionProto) };
    },

    async RoleList(_: ProtoObject, __: () => boolean, call: CallContext): Promise<ProtoObject> {
      admin(call);
      await node.linearizableRead();
      return { ...header(), roles: node.auth.roleNames() };
    },

    async RoleDelete(request: ProtoObject, _: () => boolean, call: CallContext): Promise<ProtoObject> {
      return change({ kind: 'roleDelete', by: admin(call), role: text(request.role) });
    },

    async RoleGrantPermission(
      request: ProtoObject,
      _: () => boolean,
      call: CallContext,
    ): Promise<ProtoObject> {
      const by = admin(call);
      const perm = (request.perm as ProtoObject | undefined) ?? {};
      const permission: KeyPermission = {
        permType: permissionType(perm.permType),
        key: bytes(perm.key),
        rangeEnd: bytes(perm.range_end),
      };
      return change({ kind: 'roleGrantPermission', by, name: text(request.name), permission });
    },

    async RoleRevokePermission(
      request: ProtoObject,
      _: () => boolean,
      call: CallContext,
    ): Promise<ProtoObject> {
      return change({
        kind: 'roleRevokePermission',
        by: admin(call),
        role: text(request.role),
        key: bytes(request.key),
        rangeEnd: bytes(request.range_end),
      });
    },
  };
}
