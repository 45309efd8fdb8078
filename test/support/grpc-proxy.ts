// A gRPC proxy for the etcd v3 API that can rewrite responses on the way back. It lets a test wrap any
// Endpoint so that one chosen response differs on the wire, which proves a differential harness
// really notices differences (a harness that always says "equal" is worse than none).

import * as grpc from '@grpc/grpc-js';
import type { Endpoint, StartedEndpoint } from './endpoints.js';
import { loadEtcdServices } from './grpc-client.js';
import { LOOPBACK_HOST } from './ports.js';

/** Rewrites a successful unary response of `method` (e.g. 'Range'); return it unchanged to pass through. */
export type ResponseRewriter = (method: string, response: unknown) => unknown;

const PROXIED_SERVICES = ['KV', 'Lease', 'Watch', 'Maintenance'] as const;

export function proxiedEndpoint(
  inner: Endpoint,
  rewrite: ResponseRewriter,
  name = `${inner.name}+proxy`,
): Endpoint {
  return {
    name,
    async start(): Promise<StartedEndpoint> {
      const upstream = await inner.start();
      try {
        return await startProxy(upstream, rewrite);
      } catch (error) {
        await upstream.stop();
        throw error;
      }
    },
  };
}

async function startProxy(upstream: StartedEndpoint, rewrite: ResponseRewriter): Promise<StartedEndpoint> {
  const services = loadEtcdServices();
  const server = new grpc.Server();
  const client = new grpc.Client(upstream.address, grpc.credentials.createInsecure());
  for (const serviceName of PROXIED_SERVICES) {
    const service = services[serviceName].service;
    const rawService: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [method, definition] of Object.entries(service)) {
      // Forward raw bytes: decoding and re-encoding would lose field presence, and etcd treats a
      // present-but-empty bytes field (e.g. range_end) differently from an absent one.
      rawService[method] = {
        ...definition,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      };
      if (definition.requestStream && definition.responseStream) {
        handlers[method] = forwardBidi(client, definition.path);
      } else if (!definition.requestStream && !definition.responseStream) {
        handlers[method] = forwardUnary(client, method, definition, rewrite);
      }
      // Server-streaming Snapshot is not proxied: the compatibility tests do not use it.
    }
    server.addService(rawService, handlers);
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${LOOPBACK_HOST}:0`, grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });
  return {
    address: `${LOOPBACK_HOST}:${port}`,
    async stop() {
      server.forceShutdown();
      client.close();
      await upstream.stop();
    },
  };
}

const identity = (bytes: Buffer): Buffer => bytes;

function forwardUnary(
  client: grpc.Client,
  method: string,
  definition: grpc.MethodDefinition<unknown, unknown>,
  rewrite: ResponseRewriter,
): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    client.makeUnaryRequest(definition.path, identity, identity, call.request, (error, response) => {
      if (error || response === undefined) {
        callback(error ? { code: error.code, details: error.details, metadata: error.metadata } : null);
        return;
      }
      const decoded = definition.responseDeserialize(response);
      const rewritten = rewrite(method, decoded);
      // Untouched answers go back byte for byte.
      callback(null, rewritten === decoded ? response : definition.responseSerialize(rewritten));
    });
  };
}

function forwardBidi(client: grpc.Client, path: string): grpc.handleBidiStreamingCall<Buffer, Buffer> {
  return (downstream) => {
    const up = client.makeBidiStreamRequest(path, identity, identity);
    downstream.on('data', (request: Buffer) => up.write(request));
    downstream.on('end', () => up.end());
    // The test closing its stream cancels the proxied call; pass the cancellation upstream.
    downstream.on('cancelled', () => up.cancel());
    up.on('data', (response: Buffer) => downstream.write(response));
    up.on('end', () => downstream.end());
    up.on('error', (error: grpc.ServiceError) => {
      if (error.code !== grpc.status.CANCELLED)
        downstream.emit('error', { code: error.code, details: error.details });
    });
  };
}
