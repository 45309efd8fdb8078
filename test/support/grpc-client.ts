// A small promise-based client for the etcd v3 gRPC API, loaded from the repo's proto/ files. Every
// unary call resolves (never rejects) to `{ response }` or `{ error: { code, details } }`, so a
// differential test can compare failures exactly like successes.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  HashKVRequest,
  HashKVResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from './etcd-types.js';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

/** Per-call deadline: generous, but a hung server fails the test instead of hanging it. */
const CALL_DEADLINE_MS = 10_000;

export interface RpcError {
  code: number;
  details: string;
}

export type RpcResult<T> = { response: T } | { error: RpcError };

/** Finds the repo's proto/ directory from either test/support (ts) or dist/test/support (js). */
export function protoDirectory(): string {
  let directory = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = path.join(directory, 'proto');
    if (fs.existsSync(path.join(candidate, 'rpc.proto'))) return candidate;
    directory = path.dirname(directory);
  }
  throw new Error('proto/rpc.proto not found above test/support');
}

export interface EtcdServices {
  KV: grpc.ServiceClientConstructor;
  Lease: grpc.ServiceClientConstructor;
  Watch: grpc.ServiceClientConstructor;
  Maintenance: grpc.ServiceClientConstructor;
}

let servicesCache: EtcdServices | undefined;

export function loadEtcdServices(): EtcdServices {
  if (servicesCache) return servicesCache;
  const directory = protoDirectory();
  const definition = protoLoader.loadSync(
    [path.join(directory, 'rpc.proto'), path.join(directory, 'kv.proto')],
    { ...PROTO_LOADER_OPTIONS, includeDirs: [directory] },
  );
  const root = grpc.loadPackageDefinition(definition);
  const etcdserverpb = root.etcdserverpb as grpc.GrpcObject;
  const service = (name: string): grpc.ServiceClientConstructor => {
    const clientConstructor = etcdserverpb[name];
    if (typeof clientConstructor !== 'function') throw new Error(`service etcdserverpb.${name} missing`);
    return clientConstructor as grpc.ServiceClientConstructor;
  };
  servicesCache = {
    KV: service('KV'),
    Lease: service('Lease'),
    Watch: service('Watch'),
    Maintenance: service('Maintenance'),
  };
  return servicesCache;
}

type UnaryMethod = (
  request: unknown,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;

function unary<T>(client: grpc.Client, method: string, request: unknown): Promise<RpcResult<T>> {
  const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
  if (typeof fn !== 'function') throw new Error(`no gRPC method ${method}`);
  return new Promise((resolve) => {
    fn.call(client, request, { deadline: Date.now() + CALL_DEADLINE_MS }, (error, response) => {
      if (error) resolve({ error: { code: error.code, details: error.details } });
      else resolve({ response: response as T });
    });
  });
}

export class EtcdClient {
  private readonly kv: grpc.Client;
  private readonly lease: grpc.Client;
  private readonly watchClient: grpc.Client;
  private readonly maintenance: grpc.Client;

  constructor(
    readonly address: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    const services = loadEtcdServices();
    this.kv = new services.KV(address, credentials);
    // Reuse one channel for all services, as etcd clients do.
    const options = { channelOverride: this.kv.getChannel() };
    this.lease = new services.Lease(address, credentials, options);
    this.watchClient = new services.Watch(address, credentials, options);
    this.maintenance = new services.Maintenance(address, credentials, options);
  }

  range(request: RangeRequest): Promise<RpcResult<RangeResponse>> {
    return unary(this.kv, 'Range', request);
  }
  put(request: PutRequest): Promise<RpcResult<PutResponse>> {
    return unary(this.kv, 'Put', request);
  }
  deleteRange(request: DeleteRangeRequest): Promise<RpcResult<DeleteRangeResponse>> {
    return unary(this.kv, 'DeleteRange', request);
  }
  txn(request: TxnRequest): Promise<RpcResult<TxnResponse>> {
    return unary(this.kv, 'Txn', request);
  }
  compact(request: CompactionRequest): Promise<RpcResult<CompactionResponse>> {
    return unary(this.kv, 'Compact', request);
  }
  leaseGrant(request: LeaseGrantRequest): Promise<RpcResult<LeaseGrantResponse>> {
    return unary(this.lease, 'LeaseGrant', request);
  }
  leaseRevoke(request: LeaseRevokeRequest): Promise<RpcResult<LeaseRevokeResponse>> {
    return unary(this.lease, 'LeaseRevoke', request);
  }
  leaseTimeToLive(request: LeaseTimeToLiveRequest): Promise<RpcResult<LeaseTimeToLiveResponse>> {
    return unary(this.lease, 'LeaseTimeToLive', request);
  }
  leaseLeases(): Promise<RpcResult<LeaseLeasesResponse>> {
    return unary(this.lease, 'LeaseLeases', {});
  }
  status(): Promise<RpcResult<StatusResponse>> {
    return unary(this.maintenance, 'Status', {});
  }
  hashKV(request: HashKVRequest): Promise<RpcResult<HashKVResponse>> {
    return unary(this.maintenance, 'HashKV', request);
  }

  /** Opens one bidirectional Watch stream. */
  watch(): WatchStream {
    const method = (this.watchClient as unknown as Record<string, unknown>).Watch;
    if (typeof method !== 'function') throw new Error('no gRPC method Watch');
    const call = method.call(this.watchClient) as grpc.ClientDuplexStream<WatchRequest, WatchResponse>;
    return new WatchStream(call);
  }

  close(): void {
    this.maintenance.close();
    this.watchClient.close();
    this.lease.close();
    this.kv.close();
  }
}

export type WatchNext =
  | { response: WatchResponse }
  | { error: RpcError }
  | { ended: true }
  | { timedOut: true };

/** A Watch stream with a pull interface: send requests, then await responses one at a time. */
export class WatchStream {
  private readonly queue: WatchNext[] = [];
  private waiter: ((next: WatchNext) => void) | undefined;
  private finished = false;

  constructor(private readonly call: grpc.ClientDuplexStream<WatchRequest, WatchResponse>) {
    call.on('data', (response: WatchResponse) => this.push({ response }));
    call.on('error', (error: grpc.ServiceError) => {
      // Cancelling our own stream in close() surfaces as CANCELLED; that is not a server answer.
      if (error.code !== grpc.status.CANCELLED)
        this.push({ error: { code: error.code, details: error.details } });
      this.finished = true;
    });
    call.on('end', () => {
      this.push({ ended: true });
      this.finished = true;
    });
  }

  send(request: WatchRequest): void {
    this.call.write(request);
  }

  /** The next response, or `{ timedOut: true }` if none arrives within timeoutMs. */
  next(timeoutMs: number): Promise<WatchNext> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.finished) return Promise.resolve({ ended: true });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve({ timedOut: true });
      }, timeoutMs);
      this.waiter = (next) => {
        clearTimeout(timer);
        resolve(next);
      };
    });
  }

  close(): void {
    this.finished = true;
    this.call.cancel();
  }

  private push(next: WatchNext): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter(next);
    } else {
      this.queue.push(next);
    }
  }
}
