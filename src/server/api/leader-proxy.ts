// Requests only the leader can answer (lease keep-alive and time-to-live: the leader alone owns
// lease expiry) are forwarded by followers to the leader's client URL, as etcd forwards them
// over its peer HTTP API. An https:// client URL is dialled with this member's own client-side
// key pair (--cert-file, --key-file) and --trusted-ca-file, so it passes the leader's
// --client-cert-auth like any client would.

import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../../raft/types.js';
import type { FlotillaNode } from '../node.js';
import type { TlsMaterial } from '../tls.js';
import type { ProtoObject } from './convert.js';
import { GrpcError, noLeader, Status } from './errors.js';

/** How long a forwarded request may take before the client sees "request timed out". */
const FORWARD_TIMEOUT_MS = 5_000;

interface UnaryLeaseClient {
  LeaseTimeToLive(
    request: ProtoObject,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response: ProtoObject) => void,
  ): void;
}

interface StreamingLeaseClient {
  LeaseKeepAlive(options: grpc.CallOptions): grpc.ClientDuplexStream<ProtoObject, ProtoObject>;
}

export class LeaderProxy {
  private client: { leader: NodeId; address: string; lease: grpc.Client } | null = null;

  constructor(
    private readonly node: FlotillaNode,
    private readonly leaseService: grpc.ServiceDefinition,
    private readonly tls: TlsMaterial | null,
  ) {}

  private credentialsFor(url: URL): grpc.ChannelCredentials {
    if (url.protocol !== 'https:') return grpc.credentials.createInsecure();
    return grpc.credentials.createSsl(this.tls?.ca ?? null, this.tls?.key ?? null, this.tls?.cert ?? null);
  }

  private leaseClient(): grpc.Client {
    const leader = this.node.leaderId;
    const member = this.node.members.get(leader);
    const text = member?.clientUrls[0];
    if (text === undefined) throw noLeader();
    const url = new URL(text);
    const address = url.host;
    if (this.client !== null && this.client.leader === leader && this.client.address === address)
      return this.client.lease;
    this.client?.lease.close();
    const Client = grpc.makeGenericClientConstructor(this.leaseService, 'Lease');
    const lease = new Client(address, this.credentialsFor(url));
    this.client = { leader, address, lease };
    return lease;
  }

  timeToLive(request: ProtoObject): Promise<ProtoObject> {
    const client = this.leaseClient() as unknown as UnaryLeaseClient;
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + FORWARD_TIMEOUT_MS);
      client.LeaseTimeToLive(
        request,
        { deadline },
        (error: grpc.ServiceError | null, response: ProtoObject) =>
          error ? reject(new GrpcError(error.code, error.details)) : resolve(response),
      );
    });
  }

  /** One keep-alive round trip through the leader. */
  keepAlive(request: ProtoObject): Promise<ProtoObject> {
    const client = this.leaseClient() as unknown as StreamingLeaseClient;
    return new Promise((resolve, reject) => {
      const call = client.LeaseKeepAlive({ deadline: new Date(Date.now() + FORWARD_TIMEOUT_MS) });
      call.once('data', (response: ProtoObject) => {
        resolve(response);
        call.end();
      });
      call.once('error', (error: grpc.ServiceError) =>
        reject(new GrpcError(error.code ?? Status.UNAVAILABLE, error.details)),
      );
      call.write(request);
    });
  }

  close(): void {
    this.client?.lease.close();
    this.client = null;
  }
}
