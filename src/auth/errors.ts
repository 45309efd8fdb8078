// Errors of the auth store, each with etcd 3.4's gRPC code and exact message
// (etcdserver/api/v3rpc/rpctypes/error.go): clients such as etcdctl and the etcd3 npm client
// recognise them by message text.

/** gRPC status codes the auth errors use (google.golang.org/grpc/codes). */
const Code = {
  InvalidArgument: 3,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  PermissionDenied: 7,
  Unauthenticated: 16,
} as const;

export class AuthError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

const error = (code: number, message: string) => () => new AuthError(code, message);

export const rootUserNotExist = error(Code.FailedPrecondition, 'etcdserver: root user does not exist');
export const rootRoleNotExist = error(
  Code.FailedPrecondition,
  'etcdserver: root user does not have root role',
);
export const userAlreadyExist = error(Code.FailedPrecondition, 'etcdserver: user name already exists');
export const userEmpty = error(Code.InvalidArgument, 'etcdserver: user name is empty');
export const userNotFound = error(Code.FailedPrecondition, 'etcdserver: user name not found');
export const roleAlreadyExist = error(Code.FailedPrecondition, 'etcdserver: role name already exists');
export const roleNotFound = error(Code.FailedPrecondition, 'etcdserver: role name not found');
export const roleEmpty = error(Code.InvalidArgument, 'etcdserver: role name is empty');
export const authFailed = error(
  Code.InvalidArgument,
  'etcdserver: authentication failed, invalid user ID or password',
);
export const permissionDenied = error(Code.PermissionDenied, 'etcdserver: permission denied');
export const roleNotGranted = error(Code.FailedPrecondition, 'etcdserver: role is not granted to the user');
export const permissionNotGranted = error(
  Code.FailedPrecondition,
  'etcdserver: permission is not granted to the role',
);
export const authNotEnabled = error(Code.FailedPrecondition, 'etcdserver: authentication is not enabled');
export const invalidAuthToken = error(Code.Unauthenticated, 'etcdserver: invalid auth token');
export const authOldRevision = error(Code.InvalidArgument, 'etcdserver: revision of auth store is old');
export const invalidAuthManagement = error(Code.InvalidArgument, 'etcdserver: invalid auth management');

/** Not in etcd: Flotilla limits password checks per client (--auth-attempts-per-second). */
export function tooManyAttempts(client: string, perSecond: number): AuthError {
  return new AuthError(
    Code.ResourceExhausted,
    `flotilla: too many authentication attempts from ${client} (limit ${perSecond} per second, --auth-attempts-per-second)`,
  );
}
