// Who a call acts as, and whether it may do what it asks — the checks every service makes
// before serving a request while auth is enabled (gRPC and the JSON gateway share them).
//
// The token comes in metadata key "token" (etcd's clients), or "authorization" (etcd's gateway
// passes the HTTP Authorization header through under that name). As in etcd, a call without a
// token is anonymous, and a token this member does not know is refused whether or not auth is
// enabled, so a client holding a token from before AuthDisable learns to drop it.

import type { AuthError } from '../../auth/errors.js';
import { authOldRevision, invalidAuthToken } from '../../auth/errors.js';
import type { Need } from '../../auth/permissions.js';
import type { FlotillaNode } from '../node.js';
import type { RequestMetadata } from './stream-call.js';

/** What the checks read of a call: its headers, and its client certificate where there is one. */
export type CallMetadata = Pick<RequestMetadata, 'get'> &
  Partial<Pick<RequestMetadata, 'certificateCommonName'>>;

/** The token a call carries, or null. */
function tokenOf(metadata: CallMetadata): string | null {
  return metadata.get('token')[0] ?? metadata.get('authorization')[0] ?? null;
}

/**
 * The user the call acts as: the token's; without a token, while auth is enabled, the common name
 * of a verified client certificate (etcd's AuthInfoFromTLS); otherwise null. Throws "invalid auth
 * token".
 */
export function callerOf(node: FlotillaNode, metadata: CallMetadata): string | null {
  const token = tokenOf(metadata);
  if (token === null) return node.auth.isEnabled() ? (metadata.certificateCommonName?.() ?? null) : null;
  const issued = node.tokens.use(token, Date.now());
  if (issued === null) throw invalidAuthToken();
  // A JWT from before the last auth change (etcd's isOpPermitted): the client authenticates again.
  if (issued.authRevision !== null && issued.authRevision < node.auth.authRevision()) throw authOldRevision();
  return issued.user;
}

function raise(refusal: AuthError | null): void {
  if (refusal !== null) throw refusal;
}

/**
 * Throws unless the caller may do everything in `needs` (no check while auth is disabled).
 * Returns the caller's name while auth is enabled (writes carry it for the check at apply time).
 * `needs` may be a function: then it is built only when there is something to check (a Txn's
 * needs walk every operation, on every call, for nothing while auth is off).
 */
export function requireKeys(
  node: FlotillaNode,
  metadata: CallMetadata,
  needs: readonly Need[] | (() => readonly Need[]),
): string | null {
  if (!node.auth.isEnabled() && tokenOf(metadata) === null) return null;
  const caller = callerOf(node, metadata);
  raise(node.auth.keyRefusal(caller, typeof needs === 'function' ? needs() : needs));
  return node.auth.isEnabled() ? caller : null;
}

/** Throws unless the caller holds the root role (etcd's IsAdminPermitted); the caller's name otherwise. */
export function requireAdmin(node: FlotillaNode, metadata: CallMetadata): string | null {
  if (!node.auth.isEnabled() && tokenOf(metadata) === null) return null;
  const caller = callerOf(node, metadata);
  raise(node.auth.adminRefusal(caller));
  return caller;
}
