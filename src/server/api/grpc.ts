// The etcd v3 gRPC server: loads etcd's proto definitions, wires each service's handlers and
// turns thrown errors into etcd's status codes and messages. The handlers are plain async
// functions of proto objects, so a leaner transport (node:http2) can replace grpc-js later
// without touching them (ANCHORS.md: the gRPC layer alone can eat much of a core).

import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { RequestObserver } from '../../observability/requests.js';
import type { FlotillaNode } from '../node.js';
import { clusterService } from './cluster.js';
import type { HeaderSource, ProtoObject } from './convert.js';
import { electionService, observeLeader } from './election.js';
import { toServiceError } from './errors.js';
import { kvService } from './kv.js';
import { LeaderProxy } from './leader-proxy.js';
import { leaseService } from './lease.js';
import { lockService } from './lock.js';
import { maintenanceService, snapshotStream } from './maintenance.js';
import { watchService } from './watch.js';

const PROTO_DIR = fileURLToPath(new URL('../../../../proto/', import.meta.url));

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  // Without defaults, an absent field stays undefined while an explicitly empty one arrives as
  // an empty value: etcd (Go) tells those apart for Range's range_end (see kv.ts).
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

type ServiceDefinitions = Record<string, grpc.ServiceDefinition>;

export function loadServices(): ServiceDefinitions {
  const definition = protoLoader.loadSync(
    ['rpc.proto', 'v3lock.proto', 'v3election.proto'].map((file) => `${PROTO_DIR}${file}`),
    PROTO_LOADER_OPTIONS,
  );
  const loaded = grpc.loadPackageDefinition(definition) as unknown as Record<
    string,
    Record<string, { service: grpc.ServiceDefinition }>
  >;
  return {
    KV: loaded.etcdserverpb.KV.service,
    Watch: loaded.etcdserverpb.Watch.service,
    Lease: loaded.etcdserverpb.Lease.service,
    Cluster: loaded.etcdserverpb.Cluster.service,
    Maintenance: loaded.etcdserverpb.Maintenance.service,
    Auth: loaded.etcdserverpb.Auth.service,
    Lock: loaded.v3lockpb.Lock.service,
    Election: loaded.v3electionpb.Election.service,
  };
}

const OK = 0;

type UnaryHandler = (request: ProtoObject, cancelled: () => boolean) => Promise<ProtoObject>;

/**
 * Adapts async handlers to grpc-js callbacks; every error becomes an etcd-style status. Metrics
 * and the request's trace span come from `requests` (src/observability/requests.ts).
 */
export function unary(
  handlers: Record<string, UnaryHandler>,
  requests: RequestObserver,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    const observed = requests.method(name);
    implementation[name] = (
      call: grpc.ServerUnaryCall<ProtoObject, ProtoObject>,
      callback: grpc.sendUnaryData<ProtoObject>,
    ) => {
      const token = observed.start(call.metadata);
      observed
        .run(token, () => handler(call.request, () => call.cancelled))
        .then(
          (response) => {
            observed.finish(token, OK);
            callback(null, response);
          },
          (error: unknown) => {
            const status = toServiceError(error);
            observed.finish(token, status.code ?? OK);
            callback(status);
          },
        );
    };
  }
  return implementation;
}

export function headerSource(node: FlotillaNode): HeaderSource {
  return {
    header: (revision: number) => ({
      cluster_id: node.clusterId.toString(),
      member_id: node.memberId.toString(),
      revision: String(revision),
      raft_term: String(node.term()),
    }),
  };
}

export interface ClientServer {
  readonly server: grpc.Server;
  readonly ports: number[];
  stop(): Promise<void>;
}

/** Starts the client API on every --listen-client-urls address. */
export async function startClientServer(node: FlotillaNode): Promise<ClientServer> {
  const services = loadServices();
  const server = new grpc.Server({
    // etcd accepts requests up to max-request-bytes plus gRPC framing overhead.
    'grpc.max_receive_message_length': node.config.maxRequestBytes + 512 * 1024,
    'grpc.max_send_message_length': 2 ** 31 - 1,
  });
  const headers = headerSource(node);
  const requests = node.observability.requests;
  server.addService(services.KV, unary(kvService(node, headers), requests));
  server.addService(services.Watch, watchService(node));
  const proxy = new LeaderProxy(node, services.Lease);
  const lease = leaseService(node, headers, proxy);
  server.addService(services.Lease, {
    ...unary(lease.unary, requests),
    LeaseKeepAlive: lease.LeaseKeepAlive,
  });
  server.addService(services.Lock, unary(lockService(node, headers), requests));
  server.addService(services.Election, {
    ...unary(electionService(node, headers), requests),
    Observe: (call: grpc.ServerWritableStream<ProtoObject, ProtoObject>) => {
      observeLeader(
        node,
        headers,
        call.request.name as Uint8Array,
        (response) => call.write(response),
        (stop) => {
          call.on('cancelled', stop);
          call.on('close', stop);
        },
      );
    },
  });
  server.addService(services.Cluster, unary(clusterService(node, headers), requests));
  server.addService(services.Maintenance, {
    ...unary(maintenanceService(node, headers), requests),
    Snapshot: snapshotStream(node, headers),
  });
  const ports: number[] = [];
  for (const url of node.config.listenClientUrls) {
    const host = url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${url.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      );
    });
    ports.push(port);
  }
  return {
    server,
    ports,
    stop: () =>
      new Promise<void>((resolve) => {
        proxy.close();
        server.tryShutdown(() => resolve());
        // Streams (watches) would hold a graceful shutdown open forever: force after a bound.
        setTimeout(() => server.forceShutdown(), 2_000).unref();
      }),
  };
}
