// The lab's client: the real etcd v3 gRPC API, every call bounded by a deadline. A call either
// succeeds, fails definitely (the server said no: the operation did not happen), or is
// indefinite (timeout, connection lost: it may or may not have happened).

import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../server/api/grpc.js';

export type ProtoObject = Record<string, unknown>;

export type CallResult =
  | { readonly kind: 'ok'; readonly response: ProtoObject }
  | { readonly kind: 'fail'; readonly error: string }
  | { readonly kind: 'info'; readonly error: string };

/**
 * gRPC codes after which the request certainly did not take effect: the server refused it
 * before proposing (InvalidArgument, FailedPrecondition, NotFound, OutOfRange, PermissionDenied,
 * ResourceExhausted). UNAVAILABLE is not among them: "no leader" after a forward, or a
 * connection that dropped mid-call, leave the outcome unknown.
 */
const DEFINITE_FAILURES = new Set([3, 5, 7, 8, 9, 11]);

/**
 * Errors that say the request was never proposed, whatever their code. Flotilla answers "no
 * leader" and "leader changed" only for proposals Raft refused before appending them, and a
 * connection that was never established carried nothing. The lab checks these claims: a
 * request reported this way must not show up in the history.
 */
const DEFINITE_MESSAGES = [
  'etcdserver: no leader',
  'etcdserver: leader changed',
  'etcdserver: too many requests',
  'No connection established',
];

function definite(error: grpc.ServiceError): boolean {
  return DEFINITE_FAILURES.has(error.code) || DEFINITE_MESSAGES.some((m) => error.details.startsWith(m));
}

type Method = (
  request: ProtoObject,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<ProtoObject>,
) => void;

let services: ReturnType<typeof loadServices> | null = null;

export class LabClient {
  private readonly kv: grpc.Client;
  private readonly maintenance: grpc.Client;
  private readonly cluster: grpc.Client;
  private readonly lease: grpc.Client;
  private readonly lock: grpc.Client;
  private readonly watchClient: grpc.Client;

  constructor(
    readonly address: string,
    private readonly deadlineMs: number,
  ) {
    services ??= loadServices();
    const credentials = grpc.credentials.createInsecure();
    const KV = grpc.makeGenericClientConstructor(services.KV, 'KV');
    this.kv = new KV(address, credentials);
    const options = { channelOverride: this.kv.getChannel() };
    this.maintenance = new (grpc.makeGenericClientConstructor(services.Maintenance, 'Maintenance'))(
      address,
      credentials,
      options,
    );
    this.cluster = new (grpc.makeGenericClientConstructor(services.Cluster, 'Cluster'))(
      address,
      credentials,
      options,
    );
    this.lease = new (grpc.makeGenericClientConstructor(services.Lease, 'Lease'))(
      address,
      credentials,
      options,
    );
    this.lock = new (grpc.makeGenericClientConstructor(services.Lock, 'Lock'))(address, credentials, options);
    this.watchClient = new (grpc.makeGenericClientConstructor(services.Watch, 'Watch'))(
      address,
      credentials,
      options,
    );
  }

  private call(client: grpc.Client, method: string, request: ProtoObject): Promise<CallResult> {
    const fn = (client as unknown as Record<string, Method>)[method].bind(client);
    return new Promise((resolve) => {
      fn(request, { deadline: new Date(Date.now() + this.deadlineMs) }, (error, response) => {
        if (error === null && response !== undefined) resolve({ kind: 'ok', response });
        else if (error !== null && definite(error)) resolve({ kind: 'fail', error: error.details });
        else resolve({ kind: 'info', error: error?.details ?? 'no response' });
      });
    });
  }

  range(request: ProtoObject): Promise<CallResult> {
    return this.call(this.kv, 'Range', request);
  }

  put(request: ProtoObject): Promise<CallResult> {
    return this.call(this.kv, 'Put', request);
  }

  txn(request: ProtoObject): Promise<CallResult> {
    return this.call(this.kv, 'Txn', request);
  }

  deleteRange(request: ProtoObject): Promise<CallResult> {
    return this.call(this.kv, 'DeleteRange', request);
  }

  leaseGrant(request: ProtoObject): Promise<CallResult> {
    return this.call(this.lease, 'LeaseGrant', request);
  }

  leaseRevoke(request: ProtoObject): Promise<CallResult> {
    return this.call(this.lease, 'LeaseRevoke', request);
  }

  /** One keep-alive round trip on a short-lived stream. */
  leaseKeepAlive(id: string): Promise<CallResult> {
    const method = (
      this.lease as unknown as Record<
        string,
        (options: grpc.CallOptions) => grpc.ClientDuplexStream<ProtoObject, ProtoObject>
      >
    ).LeaseKeepAlive;
    return new Promise((resolve) => {
      const call = method.call(this.lease, { deadline: new Date(Date.now() + this.deadlineMs) });
      call.once('data', (response: ProtoObject) => {
        resolve({ kind: 'ok', response });
        call.end();
      });
      call.once('error', (error: grpc.ServiceError) =>
        resolve(
          definite(error) ? { kind: 'fail', error: error.details } : { kind: 'info', error: error.details },
        ),
      );
      call.write({ ID: id });
    });
  }

  /** v3lock Lock: waits (up to the deadline) until the lock is held. */
  lockAcquire(name: string, lease: string, deadlineMs: number): Promise<CallResult> {
    const fn = (this.lock as unknown as Record<string, Method>).Lock.bind(this.lock);
    return new Promise((resolve) => {
      fn(
        { name: Buffer.from(name), lease },
        { deadline: new Date(Date.now() + deadlineMs) },
        (error, response) => {
          if (error === null && response !== undefined) resolve({ kind: 'ok', response });
          else if (error !== null && definite(error)) resolve({ kind: 'fail', error: error.details });
          else resolve({ kind: 'info', error: error?.details ?? 'no response' });
        },
      );
    });
  }

  lockRelease(key: Uint8Array): Promise<CallResult> {
    return this.call(this.lock, 'Unlock', { key });
  }

  /** A raw Watch stream (etcd's WatchRequest/WatchResponse objects); the caller ends it. */
  watch(): grpc.ClientDuplexStream<ProtoObject, ProtoObject> {
    const method = (
      this.watchClient as unknown as Record<string, () => grpc.ClientDuplexStream<ProtoObject, ProtoObject>>
    ).Watch;
    return method.call(this.watchClient);
  }

  status(): Promise<CallResult> {
    return this.call(this.maintenance, 'Status', {});
  }

  hashKV(revision: number): Promise<CallResult> {
    return this.call(this.maintenance, 'HashKV', { revision: String(revision) });
  }

  moveLeader(targetId: bigint): Promise<CallResult> {
    return this.call(this.maintenance, 'MoveLeader', { targetID: targetId.toString() });
  }

  memberAdd(peerUrls: readonly string[], isLearner: boolean): Promise<CallResult> {
    return this.call(this.cluster, 'MemberAdd', { peerURLs: peerUrls, isLearner });
  }

  memberPromote(id: bigint): Promise<CallResult> {
    return this.call(this.cluster, 'MemberPromote', { ID: id.toString() });
  }

  memberRemove(id: bigint): Promise<CallResult> {
    return this.call(this.cluster, 'MemberRemove', { ID: id.toString() });
  }

  memberList(): Promise<CallResult> {
    return this.call(this.cluster, 'MemberList', {});
  }

  close(): void {
    this.kv.close();
  }
}
