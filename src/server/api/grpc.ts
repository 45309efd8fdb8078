// The etcd v3 gRPC API: loads etcd's proto definitions, wires each service's handlers into the
// node:http2 gRPC server (grpc-server.ts) and turns thrown errors into etcd's status codes and
// messages. The handlers are plain async functions of proto objects.

import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { RequestObserver } from '../../observability/requests.js';
import { assert } from '../../raft/assert.js';
import { createGateway } from '../gateway/gateway.js';
import { memberHealthy } from '../gateway/health.js';
import { loadRoutes } from '../gateway/routes.js';
import type { FlotillaNode } from '../node.js';
import { listenerTlsOptions, type TlsMaterial } from '../tls.js';
import { authService } from './auth.js';
import { clusterService } from './cluster.js';
import type { HeaderSource, ProtoObject } from './convert.js';
import { coordinationNeeds, requireCoordination } from './coordination.js';
import { electionService, observeLeader } from './election.js';
import { toServiceError } from './errors.js';
import { encodePutResponse, encodeRangeResponse, encodeWatchResponse } from './fast-codec.js';
import {
  type ConnectionsRefused,
  GrpcServer,
  type ListenTls,
  type ServiceImplementation,
  type UnaryCall,
  type UnaryImplementation,
} from './grpc-server.js';
import { kvService } from './kv.js';
import { LeaderProxy } from './leader-proxy.js';
import { leaseService } from './lease.js';
import { lockService } from './lock.js';
import { ETCD_API_VERSION, maintenanceService, snapshotStream } from './maintenance.js';
import type { StreamCall } from './stream-call.js';
import { watchService } from './watch.js';

const PROTO_DIR = fileURLToPath(new URL('../../../../proto/', import.meta.url));
const PROTO_FILES: readonly string[] = ['rpc.proto', 'v3lock.proto', 'v3election.proto'];

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
    PROTO_FILES.map((file) => `${PROTO_DIR}${file}`),
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

/** The caller of a unary handler: its metadata (auth token) and address. */
export type CallContext = Pick<UnaryCall, 'metadata' | 'peer'>;

type UnaryHandler = (
  request: ProtoObject,
  cancelled: () => boolean,
  call: CallContext,
) => Promise<ProtoObject>;

/**
 * Adapts async handlers to unary callbacks; every error becomes an etcd-style status. Metrics
 * and the request's trace span come from `requests` (src/observability/requests.ts).
 */
export function unary(
  handlers: Record<string, UnaryHandler>,
  requests: RequestObserver,
): ServiceImplementation {
  const implementation: ServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    const observed = requests.method(name);
    const adapted: UnaryImplementation = (call, callback) => {
      const token = observed.start(call.metadata);
      observed
        .run(token, () => handler(call.request as ProtoObject, () => call.cancelled, call))
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
    implementation[name] = adapted;
  }
  return implementation;
}

export function headerSource(node: FlotillaNode): HeaderSource {
  const clusterId = node.clusterId.toString();
  const memberId = node.memberId.toString();
  return {
    header: (revision: number) => ({
      cluster_id: clusterId,
      member_id: memberId,
      revision: String(revision),
      raft_term: String(node.term()),
    }),
  };
}

/** `service` with hand-written response encoders (fast-codec.ts) for some of its methods. */
function withEncoders(
  service: grpc.ServiceDefinition,
  encoders: Record<string, (response: unknown) => Buffer>,
): grpc.ServiceDefinition {
  const replaced = Object.entries(encoders).map(([method, responseSerialize]) => [
    method,
    { ...service[method], responseSerialize },
  ]);
  return { ...service, ...Object.fromEntries(replaced) };
}

function clientPortTls(node: FlotillaNode, tls: TlsMaterial | null): ListenTls {
  assert(tls !== null, 'an https:// client URL without --cert-file passed config validation');
  return {
    options: listenerTlsOptions(tls),
    // etcd logs these too ("rejected connection from …"): a client with a wrong or missing
    // certificate learns only that the handshake failed, so the reason must be on our side.
    onRefused: (remoteAddress, reason) =>
      node.logger.warn(`rejected client TLS connection from ${remoteAddress}: ${reason}`),
  };
}

function logRefusedConnections(node: FlotillaNode, event: ConnectionsRefused): void {
  if (event.phase === 'started') {
    node.logger.warn('refusing client connections: --max-client-connections reached', { limit: event.limit });
  } else {
    node.logger.warn('accepting client connections again', { limit: event.limit, refused: event.refused });
  }
}

/** How long a stopping server waits for open streams (watches) before closing them. */
const SHUTDOWN_GRACE_MS = 2_000;

export interface ClientServer {
  readonly ports: number[];
  stop(): Promise<void>;
}

/**
 * Starts the client API on every --listen-client-urls address; https:// ones with `tls`
 * (--cert-file…, which config validation guarantees for https URLs).
 */
export async function startClientServer(
  node: FlotillaNode,
  tls: TlsMaterial | null = null,
): Promise<ClientServer> {
  const services = loadServices();
  // etcd accepts requests up to max-request-bytes plus gRPC framing overhead.
  const maxReceiveMessageBytes = node.config.maxRequestBytes + 512 * 1024;
  const server = new GrpcServer({
    maxReceiveMessageBytes,
    maxConnections: node.config.maxClientConnections,
    maxConcurrentStreams: node.config.maxConcurrentStreams,
    onConnectionsRefused: (event) => logRefusedConnections(node, event),
  });
  const headers = headerSource(node);
  const requests = node.observability.requests;
  const kv = withEncoders(services.KV, { Put: encodePutResponse, Range: encodeRangeResponse });
  server.addService(kv, unary(kvService(node, headers), requests));
  server.addService(withEncoders(services.Watch, { Watch: encodeWatchResponse }), watchService(node));
  const proxy = new LeaderProxy(node, services.Lease, tls);
  const lease = leaseService(node, headers, proxy);
  server.addService(services.Lease, {
    ...unary(lease.unary, requests),
    LeaseKeepAlive: lease.LeaseKeepAlive,
  });
  server.addService(services.Lock, unary(lockService(node, headers), requests));
  server.addService(services.Election, {
    ...unary(electionService(node, headers), requests),
    Observe: (call: StreamCall) => {
      const name = ((call.request as ProtoObject).name as Uint8Array | undefined) ?? new Uint8Array(0);
      try {
        requireCoordination(node, call.metadata, coordinationNeeds(name, []));
      } catch (error) {
        call.destroy(toServiceError(error));
        return;
      }
      observeLeader(
        node,
        headers,
        name,
        (response) => call.write(response),
        (stop) => {
          call.on('cancelled', stop);
          call.on('close', stop);
        },
      );
    },
  });
  server.addService(services.Cluster, unary(clusterService(node, headers), requests));
  server.addService(services.Auth, unary(authService(node, headers), requests));
  server.addService(services.Maintenance, {
    ...unary(maintenanceService(node, headers), requests),
    Snapshot: snapshotStream(node, headers),
  });
  // etcd's JSON gateway on the same port, answered by the methods registered above.
  const gateway = createGateway({
    routes: loadRoutes(PROTO_DIR, PROTO_FILES),
    lookup: (path) => server.lookup(path),
    maxRequestBytes: maxReceiveMessageBytes,
    version: { server: ETCD_API_VERSION, cluster: ETCD_API_VERSION },
    healthy: () => memberHealthy(node),
  });
  const ports: number[] = [];
  for (const url of node.config.listenClientUrls) {
    // URL keeps IPv6 hosts in brackets; listen() wants the bare address.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const listenTls = url.protocol === 'https:' ? clientPortTls(node, tls) : undefined;
    ports.push(await server.listen(host, Number(url.port), gateway, listenTls));
  }
  return {
    ports,
    stop: async () => {
      proxy.close();
      await server.shutdown(SHUTDOWN_GRACE_MS);
    },
  };
}
