// gRPC errors with etcd's codes and exact messages: etcd clients recognise errors by message
// text (clientv3's rpctypes), so these strings are part of the API.

import { status as grpcStatus, Metadata, type ServiceError } from '@grpc/grpc-js';
import { AuthError } from '../../auth/errors.js';
import { MvccError } from '../../mvcc/errors.js';

export const Status = grpcStatus;

export class GrpcError extends Error {
  constructor(
    readonly code: grpcStatus,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcError';
  }
}

export const ERR_NO_LEADER = 'etcdserver: no leader';
export const ERR_TIMEOUT = 'etcdserver: request timed out';
export const ERR_LEADER_CHANGED = 'etcdserver: leader changed';
export const ERR_STOPPED = 'etcdserver: server stopped';
export const ERR_REQUEST_TOO_LARGE = 'etcdserver: request is too large';
export const ERR_TOO_MANY_REQUESTS = 'etcdserver: too many requests';
export const ERR_NO_SPACE = 'etcdserver: mvcc: database space exceeded';

/** grpc-go's text for an oversized request (rpc_util.go recvAndDecompress), which etcd 3.4 sends. */
export function messageTooLarge(lengthBytes: number, maxBytes: number): string {
  return `grpc: received message larger than max (${lengthBytes} vs. ${maxBytes})`;
}

export const noLeader = (): GrpcError => new GrpcError(Status.UNAVAILABLE, ERR_NO_LEADER);
export const timedOut = (): GrpcError => new GrpcError(Status.UNAVAILABLE, ERR_TIMEOUT);
export const stopped = (): GrpcError => new GrpcError(Status.UNAVAILABLE, ERR_STOPPED);

/** Any error thrown while serving, as the ServiceError grpc-js sends. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  if (error instanceof GrpcError)
    return { code: error.code, details: error.message, metadata: new Metadata() };
  if (error instanceof MvccError || error instanceof AuthError)
    return { code: error.code, details: error.message, metadata: new Metadata() };
  // An unexpected error is a bug: say so plainly rather than pretend it is an etcd error.
  const message = error instanceof Error ? error.message : String(error);
  return { code: Status.INTERNAL, details: `flotilla: internal error: ${message}`, metadata: new Metadata() };
}
