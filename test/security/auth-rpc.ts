// A minimal gRPC caller for the auth tests: any etcdserverpb method, with an optional token in
// the "token" metadata key (as etcd's clients send it). Calls resolve, never reject, to
// `{ response }` or `{ error: { code, details } }`, so tests compare failures like successes.

import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoDirectory, type RpcResult } from '../support/grpc-client.js';

const CALL_DEADLINE_MS = 10_000;
/** Service name → its proto package (etcd's v3lock and v3election live in their own). */
const SERVICES = {
  KV: 'etcdserverpb',
  Watch: 'etcdserverpb',
  Lease: 'etcdserverpb',
  Cluster: 'etcdserverpb',
  Maintenance: 'etcdserverpb',
  Auth: 'etcdserverpb',
  Lock: 'v3lockpb',
  Election: 'v3electionpb',
} as const;
export type ServiceName = keyof typeof SERVICES;

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => void;

let constructors: Record<ServiceName, grpc.ServiceClientConstructor> | undefined;

function load(): Record<ServiceName, grpc.ServiceClientConstructor> {
  if (constructors !== undefined) return constructors;
  const directory = protoDirectory();
  const files = ['rpc.proto', 'v3lock.proto', 'v3election.proto'].map((file) => path.join(directory, file));
  const definition = protoLoader.loadSync(files, { ...PROTO_LOADER_OPTIONS, includeDirs: [directory] });
  const loaded = grpc.loadPackageDefinition(definition);
  constructors = Object.fromEntries(
    Object.entries(SERVICES).map(([name, pkg]) => [name, (loaded[pkg] as grpc.GrpcObject)[name]]),
  ) as Record<ServiceName, grpc.ServiceClientConstructor>;
  return constructors;
}

export class AuthRpc {
  private readonly clients = new Map<ServiceName, grpc.Client>();

  constructor(readonly address: string) {}

  private client(service: ServiceName): grpc.Client {
    let client = this.clients.get(service);
    if (client === undefined) {
      client = new (load()[service])(this.address, grpc.credentials.createInsecure());
      this.clients.set(service, client);
    }
    return client;
  }

  call<T = Record<string, unknown>>(
    service: ServiceName,
    method: string,
    request: unknown = {},
    token?: string,
  ): Promise<RpcResult<T>> {
    const client = this.client(service);
    const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
    if (typeof fn !== 'function') throw new Error(`no gRPC method ${service}.${method}`);
    const metadata = new grpc.Metadata();
    if (token !== undefined) metadata.set('token', token);
    return new Promise((resolve) => {
      fn.call(client, request, metadata, { deadline: Date.now() + CALL_DEADLINE_MS }, (error, response) => {
        if (error) resolve({ error: { code: error.code, details: error.details } });
        else resolve({ response: response as T });
      });
    });
  }

  /** Authenticates; the token, or throws with the server's answer. */
  async token(name: string, password: string): Promise<string> {
    const result = await this.call<{ token: string }>('Auth', 'Authenticate', { name, password });
    if ('error' in result) throw new Error(`Authenticate ${name}: ${result.error.details}`);
    return result.response.token;
  }

  /** Opens a Watch stream with `token`; resolves with the first response (or error) to one create. */
  watchOnce(create: Record<string, unknown>, token?: string): Promise<RpcResult<Record<string, unknown>>> {
    const metadata = new grpc.Metadata();
    if (token !== undefined) metadata.set('token', token);
    const client = this.client('Watch');
    const open = (
      client as unknown as Record<string, (m: grpc.Metadata) => grpc.ClientDuplexStream<unknown, unknown>>
    ).Watch;
    const stream = open.call(client, metadata);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        stream.cancel();
        resolve({ error: { code: -1, details: 'no watch response within the deadline' } });
      }, CALL_DEADLINE_MS);
      stream.on('data', (response) => {
        clearTimeout(timer);
        stream.cancel();
        resolve({ response: response as Record<string, unknown> });
      });
      stream.on('error', (error: grpc.ServiceError) => {
        clearTimeout(timer);
        if (error.code !== grpc.status.CANCELLED)
          resolve({ error: { code: error.code, details: error.details } });
      });
      stream.write({ create_request: create });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}
