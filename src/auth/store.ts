// The auth state machine: users, roles, their permissions and the enabled flag, changed only by
// replicated operations applied in log order (so every member holds the same state at the same
// applied index), and asked by the API layer whether a user may do something.
//
// Rules follow etcd 3.4's auth/store.go: the root user must exist and hold the root role before
// auth can be enabled; while enabled, root cannot be deleted, lose the root role, and the root
// role cannot be deleted; the root role needs no entry to be granted and grants everything.
// Passwords arrive already hashed: hashing is slow on purpose and belongs on the member that
// received the request, never in the apply path (which must be fast and deterministic).

import { compareBytes } from '../mvcc/keys.js';
import {
  AuthError,
  authFailed,
  authNotEnabled,
  invalidAuthManagement,
  permissionDenied,
  permissionNotGranted,
  roleAlreadyExist,
  roleEmpty,
  roleNotFound,
  roleNotGranted,
  rootRoleNotExist,
  rootUserNotExist,
  userAlreadyExist,
  userEmpty,
  userNotFound,
} from './errors.js';
import { type KeyPermission, type Need, permits } from './permissions.js';

export const ROOT = 'root';

export interface User {
  readonly name: string;
  /** bcrypt hash; null for a user added with no_password (cannot authenticate). */
  readonly passwordHash: string | null;
  /** Sorted, as etcd keeps them. */
  readonly roles: readonly string[];
}

export interface Role {
  readonly name: string;
  /** Sorted by key, as etcd keeps them. */
  readonly permissions: readonly KeyPermission[];
}

/** A change to the auth state, replicated through Raft. `by` is the requesting user (null without auth). */
export type AuthOp =
  | { readonly kind: 'enable'; readonly by: string | null }
  | { readonly kind: 'disable'; readonly by: string | null }
  | {
      readonly kind: 'userAdd';
      readonly by: string | null;
      readonly name: string;
      readonly passwordHash: string | null;
    }
  | { readonly kind: 'userDelete'; readonly by: string | null; readonly name: string }
  | {
      readonly kind: 'userChangePassword';
      readonly by: string | null;
      readonly name: string;
      readonly passwordHash: string | null;
    }
  | {
      readonly kind: 'userGrantRole';
      readonly by: string | null;
      readonly user: string;
      readonly role: string;
    }
  | {
      readonly kind: 'userRevokeRole';
      readonly by: string | null;
      readonly name: string;
      readonly role: string;
    }
  | { readonly kind: 'roleAdd'; readonly by: string | null; readonly name: string }
  | { readonly kind: 'roleDelete'; readonly by: string | null; readonly role: string }
  | {
      readonly kind: 'roleGrantPermission';
      readonly by: string | null;
      readonly name: string;
      readonly permission: KeyPermission;
    }
  | {
      readonly kind: 'roleRevokePermission';
      readonly by: string | null;
      readonly role: string;
      readonly key: Uint8Array;
      readonly rangeEnd: Uint8Array;
    }
  /**
   * Password already checked by the receiving member against `passwordHash`; applying it issues
   * the token everywhere, unless the password changed in between.
   */
  | {
      readonly kind: 'authenticate';
      readonly name: string;
      readonly passwordHash: string;
      readonly tokenPrefix: string;
      readonly issuedAtMs: number;
    };

/** What applying an op produced: an error for the client, or (authenticate) the issued token. */
export type AuthOutcome =
  | { readonly ok: true; readonly token?: string }
  | { readonly ok: false; readonly error: AuthError };

/** The whole state, for snapshots. */
export interface AuthSnapshot {
  readonly enabled: boolean;
  readonly revision: number;
  readonly users: readonly User[];
  readonly roles: readonly Role[];
}

const OK: AuthOutcome = { ok: true };

export class AuthStore {
  private enabled = false;
  /** Counts changes (etcd's auth revision, reported by AuthStatus). */
  private revision = 0;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();

  isEnabled(): boolean {
    return this.enabled;
  }

  authRevision(): number {
    return this.revision;
  }

  // ---- applying replicated changes --------------------------------------------------------------

  /** Applies one op; token issuing for 'authenticate' is the caller's (tokens.ts), given the outcome. */
  apply(op: AuthOp): AuthOutcome {
    if (op.kind !== 'authenticate' && this.enabled) {
      // etcd checks admin permission again at apply time (apply_auth.go needAdminPermission): the
      // requester may have lost the root role between the check on receipt and this entry.
      const refused = this.adminRefusal(op.by);
      if (refused !== null) return { ok: false, error: refused };
    }
    try {
      this.applyChecked(op);
    } catch (error) {
      if (error instanceof AuthError) return { ok: false, error };
      throw error;
    }
    return OK;
  }

  private applyChecked(op: AuthOp): void {
    switch (op.kind) {
      case 'enable':
        return this.enable();
      case 'disable':
        if (!this.enabled) return;
        this.enabled = false;
        this.revision++;
        return;
      case 'authenticate':
        if (!this.enabled) throw authNotEnabled();
        // The user may have been deleted, or its password changed, since the check on receipt.
        if (this.users.get(op.name)?.passwordHash !== op.passwordHash) throw authFailed();
        return;
      case 'userAdd':
        return this.userAdd(op.name, op.passwordHash);
      case 'userDelete':
        return this.userDelete(op.name);
      case 'userChangePassword': {
        const user = this.requireUser(op.name);
        this.putUser({ ...user, passwordHash: op.passwordHash });
        return;
      }
      case 'userGrantRole':
        return this.userGrantRole(op.user, op.role);
      case 'userRevokeRole':
        return this.userRevokeRole(op.name, op.role);
      case 'roleAdd':
        if (op.name === '') throw roleEmpty();
        if (this.roles.has(op.name)) throw roleAlreadyExist();
        this.putRole({ name: op.name, permissions: [] });
        return;
      case 'roleDelete':
        return this.roleDelete(op.role);
      case 'roleGrantPermission':
        return this.roleGrantPermission(op.name, op.permission);
      case 'roleRevokePermission':
        return this.roleRevokePermission(op.role, op.key, op.rangeEnd);
    }
  }

  private enable(): void {
    if (this.enabled) return;
    const root = this.users.get(ROOT);
    if (root === undefined) throw rootUserNotExist();
    if (!root.roles.includes(ROOT)) throw rootRoleNotExist();
    this.enabled = true;
    this.revision++;
  }

  private userAdd(name: string, passwordHash: string | null): void {
    if (name === '') throw userEmpty();
    if (this.users.has(name)) throw userAlreadyExist();
    this.putUser({ name, passwordHash, roles: [] });
  }

  private userDelete(name: string): void {
    if (this.enabled && name === ROOT) throw invalidAuthManagement();
    this.requireUser(name);
    this.users.delete(name);
    this.revision++;
  }

  private userGrantRole(name: string, role: string): void {
    const user = this.requireUser(name);
    // The root role needs no entry of its own (etcd: "if r.Role != rootRole { getRole }").
    if (role !== ROOT && !this.roles.has(role)) throw roleNotFound();
    if (user.roles.includes(role)) return;
    this.putUser({ ...user, roles: [...user.roles, role].sort() });
  }

  private userRevokeRole(name: string, role: string): void {
    if (this.enabled && name === ROOT && role === ROOT) throw invalidAuthManagement();
    const user = this.requireUser(name);
    if (!user.roles.includes(role)) throw roleNotGranted();
    this.putUser({ ...user, roles: user.roles.filter((r) => r !== role) });
  }

  private roleDelete(name: string): void {
    if (this.enabled && name === ROOT) throw invalidAuthManagement();
    if (!this.roles.has(name)) throw roleNotFound();
    this.roles.delete(name);
    for (const user of [...this.users.values()]) {
      if (user.roles.includes(name))
        this.users.set(user.name, { ...user, roles: user.roles.filter((r) => r !== name) });
    }
    this.revision++;
  }

  private roleGrantPermission(name: string, permission: KeyPermission): void {
    const role = this.roles.get(name);
    if (role === undefined) throw roleNotFound();
    // Granting the same key and range again replaces the permission type (etcd updates in place).
    const others = role.permissions.filter(
      (p) => !samePermissionRange(p, permission.key, permission.rangeEnd),
    );
    const permissions = [...others, permission].sort((a, b) => compareBytes(a.key, b.key));
    this.putRole({ name, permissions });
  }

  private roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): void {
    const role = this.roles.get(name);
    if (role === undefined) throw roleNotFound();
    const kept = role.permissions.filter((p) => !samePermissionRange(p, key, rangeEnd));
    if (kept.length === role.permissions.length) throw permissionNotGranted();
    this.putRole({ name, permissions: kept });
  }

  private requireUser(name: string): User {
    const user = this.users.get(name);
    if (user === undefined) throw userNotFound();
    return user;
  }

  private putUser(user: User): void {
    this.users.set(user.name, user);
    this.revision++;
  }

  private putRole(role: Role): void {
    this.roles.set(role.name, role);
    this.revision++;
  }

  // ---- questions the API layer asks ---------------------------------------------------------

  user(name: string): User | undefined {
    return this.users.get(name);
  }

  role(name: string): Role | undefined {
    return this.roles.get(name);
  }

  userNames(): string[] {
    return [...this.users.keys()].sort();
  }

  roleNames(): string[] {
    return [...this.roles.keys()].sort();
  }

  hasRole(userName: string, role: string): boolean {
    return this.users.get(userName)?.roles.includes(role) ?? false;
  }

  /**
   * etcd's IsAdminPermitted: null when `userName` may manage auth and the cluster (auth off, or
   * the user holds the root role), else the error to answer.
   */
  adminRefusal(userName: string | null): AuthError | null {
    if (!this.enabled) return null;
    if (userName === null || userName === '') return userEmpty();
    const user = this.users.get(userName);
    if (user === undefined) return userNotFound();
    return user.roles.includes(ROOT) ? null : permissionDenied();
  }

  /**
   * etcd's isOpPermitted: null when every need is allowed for `userName`, else the error. A
   * request without a token (userName null) is refused with "user name is empty", as etcd does.
   */
  keyRefusal(userName: string | null, needs: readonly Need[]): AuthError | null {
    if (!this.enabled || needs.length === 0) return null;
    if (userName === null) return userEmpty();
    const user = this.users.get(userName);
    if (user === undefined) return permissionDenied();
    if (user.roles.includes(ROOT)) return null;
    const permissions = user.roles.flatMap((name) => this.roles.get(name)?.permissions ?? []);
    for (const need of needs) if (!permits(permissions, need)) return permissionDenied();
    return null;
  }

  // ---- snapshots ------------------------------------------------------------------------------

  snapshot(): AuthSnapshot {
    return {
      enabled: this.enabled,
      revision: this.revision,
      users: [...this.users.values()],
      roles: [...this.roles.values()],
    };
  }

  restore(snapshot: AuthSnapshot | undefined): void {
    this.users.clear();
    this.roles.clear();
    this.enabled = snapshot?.enabled ?? false;
    this.revision = snapshot?.revision ?? 0;
    for (const user of snapshot?.users ?? []) this.users.set(user.name, { ...user, roles: [...user.roles] });
    for (const role of snapshot?.roles ?? []) {
      this.roles.set(role.name, {
        name: role.name,
        permissions: role.permissions.map((p) => ({
          permType: p.permType,
          key: new Uint8Array(p.key),
          rangeEnd: new Uint8Array(p.rangeEnd),
        })),
      });
    }
  }
}

function samePermissionRange(p: KeyPermission, key: Uint8Array, rangeEnd: Uint8Array): boolean {
  return compareBytes(p.key, key) === 0 && compareBytes(p.rangeEnd, rangeEnd) === 0;
}
