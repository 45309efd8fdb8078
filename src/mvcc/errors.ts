// Errors the MVCC state machine reports to clients. Each class maps to exactly one gRPC status
// code and carries etcd 3.4's exact message text (etcdserver/api/v3rpc/rpctypes/error.go),
// because etcd clients recognise errors by their message.

/** gRPC status codes used by the etcd v3 API (google.golang.org/grpc/codes). */
export const GrpcStatus = {
  OK: 0,
  InvalidArgument: 3,
  NotFound: 5,
  FailedPrecondition: 9,
  OutOfRange: 11,
} as const;
export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** Base class of every error the MVCC layer returns to a client. */
export abstract class MvccError extends Error {
  abstract readonly code: GrpcStatus;
}

/** rpctypes.ErrGRPCEmptyKey: a request names no key. */
export class EmptyKeyError extends MvccError {
  readonly code = GrpcStatus.InvalidArgument;
  constructor() {
    super('etcdserver: key is not provided');
    this.name = 'EmptyKeyError';
  }
}

/** etcdserver.ErrKeyNotFound: ignore_value / ignore_lease on a key that does not exist (or an empty op). */
export class KeyNotFoundError extends MvccError {
  readonly code = GrpcStatus.InvalidArgument;
  constructor() {
    super('etcdserver: key not found');
    this.name = 'KeyNotFoundError';
  }
}

/** rpctypes.ErrGRPCValueProvided: ignore_value together with a non-empty value. */
export class ValueProvidedError extends MvccError {
  readonly code = GrpcStatus.InvalidArgument;
  constructor() {
    super('etcdserver: value is provided');
    this.name = 'ValueProvidedError';
  }
}

/** rpctypes.ErrGRPCLeaseProvided: ignore_lease together with a lease id. */
export class LeaseProvidedError extends MvccError {
  readonly code = GrpcStatus.InvalidArgument;
  constructor() {
    super('etcdserver: lease is provided');
    this.name = 'LeaseProvidedError';
  }
}

/** rpctypes.ErrGRPCTooManyOps: a txn with more than maxTxnOps operations at one level. */
export class TooManyOpsError extends MvccError {
  readonly code = GrpcStatus.InvalidArgument;
  constructor() {
    super('etcdserver: too many operations in txn request');
    this.name = 'TooManyOpsError';
  }
}

/** rpctypes.ErrGRPCDuplicateKey: a txn writes one key twice (v3rpc checkIntervals). */
export class DuplicateKeyError extends MvccError {
  readonly code = GrpcStatus.InvalidArgument;
  constructor() {
    super('etcdserver: duplicate key given in txn request');
    this.name = 'DuplicateKeyError';
  }
}

/** rpctypes.ErrGRPCRequestTooLarge: used here for keys longer than the storage engine accepts. */
export class RequestTooLargeError extends MvccError {
  readonly code = GrpcStatus.InvalidArgument;
  constructor() {
    super('etcdserver: request is too large');
    this.name = 'RequestTooLargeError';
  }
}

/** mvcc.ErrCompacted: a read or compaction at a revision that has been compacted away. */
export class CompactedError extends MvccError {
  readonly code = GrpcStatus.OutOfRange;
  constructor() {
    super('etcdserver: mvcc: required revision has been compacted');
    this.name = 'CompactedError';
  }
}

/** mvcc.ErrFutureRev: a read or compaction at a revision the store has not reached. */
export class FutureRevisionError extends MvccError {
  readonly code = GrpcStatus.OutOfRange;
  constructor() {
    super('etcdserver: mvcc: required revision is a future revision');
    this.name = 'FutureRevisionError';
  }
}

/** lease.ErrLeaseNotFound: a put attaches a lease the lessor does not know. */
export class LeaseNotFoundError extends MvccError {
  readonly code = GrpcStatus.NotFound;
  constructor() {
    super('etcdserver: requested lease not found');
    this.name = 'LeaseNotFoundError';
  }
}

/** lease.ErrLeaseExists: a grant names a lease id that is already in use. */
export class LeaseExistsError extends MvccError {
  readonly code = GrpcStatus.FailedPrecondition;
  constructor() {
    super('etcdserver: lease already exists');
    this.name = 'LeaseExistsError';
  }
}

/** lease.ErrLeaseTTLTooLarge: a grant asks for more than MAX_LEASE_TTL_SECONDS. */
export class LeaseTtlTooLargeError extends MvccError {
  readonly code = GrpcStatus.OutOfRange;
  constructor() {
    super('etcdserver: too large lease TTL');
    this.name = 'LeaseTtlTooLargeError';
  }
}

/** A snapshot stream that is truncated, corrupted or of an unknown format. */
export class SnapshotFormatError extends Error {
  constructor(message: string) {
    super(`mvcc snapshot: ${message}`);
    this.name = 'SnapshotFormatError';
  }
}
