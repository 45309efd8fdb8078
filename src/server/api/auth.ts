// etcdserverpb.Auth: Flotilla has no users, roles or tokens yet, so authentication is never
// enabled. Authenticate answers what etcd answers while auth is disabled, which clients (etcdctl
// --user, Patroni's etcd3 store with a username) take as "go on without a token"; the other
// Auth methods are not served (Unimplemented).

import { GrpcError, Status } from './errors.js';

export const ERR_AUTH_NOT_ENABLED = 'etcdserver: authentication is not enabled';

export function authService() {
  return {
    async Authenticate(): Promise<never> {
      throw new GrpcError(Status.FAILED_PRECONDITION, ERR_AUTH_NOT_ENABLED);
    },
  };
}
