// Control-plane calls the harness makes outside every measured window — who leads, what revision a
// member has applied, adding a member — through @grpc/grpc-js, since their cost is never measured.
// The load itself goes through the raw HTTP/2 generator (loadgen-*.ts).

import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoDirectory } from '../../test/support/grpc-client.js';

/** Deadline of one control call: a member that cannot answer within it counts as not ready. */
export const ADMIN_CALL_DEADLINE_MS = 3_000;

export interface MemberStatus {
  /** Decimal strings: member ids are 64-bit and must not pass through a lossy number. */
  readonly memberId: string;
  readonly leaderId: string;
  readonly revision: bigint;
}

type Unary = (
  request: unknown,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => void;

let servicesCache: Record<'KV' | 'Cluster' | 'Maintenance', grpc.ServiceClientConstructor> | undefined;

function services(): Record<'KV' | 'Cluster' | 'Maintenance', grpc.ServiceClientConstructor> {
  if (servicesCache !== undefined) return servicesCache;
  const directory = protoDirectory();
  const definition = protoLoader.loadSync([path.join(directory, 'rpc.proto')], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [directory],
  });
  const root = grpc.loadPackageDefinition(definition).etcdserverpb as grpc.GrpcObject;
  servicesCache = {
    KV: root.KV as grpc.ServiceClientConstructor,
    Cluster: root.Cluster as grpc.ServiceClientConstructor,
    Maintenance: root.Maintenance as grpc.ServiceClientConstructor,
  };
  return servicesCache;
}

function call<T>(client: grpc.Client, method: string, request: unknown, deadlineMs: number): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  if (typeof fn !== 'function') throw new Error(`no gRPC method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, request, { deadline: Date.now() + deadlineMs }, (error, response) => {
      if (error !== null) reject(new Error(`${method} failed: ${error.code} ${error.details}`));
      else resolve(response as T);
    });
  });
}

/** Runs `body` with a client channel to `address` that is closed afterwards. */
async function withClient<T>(
  address: string,
  service: 'KV' | 'Cluster' | 'Maintenance',
  body: (client: grpc.Client) => Promise<T>,
): Promise<T> {
  const client = new (services()[service])(address, grpc.credentials.createInsecure());
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

interface StatusWire {
  header: { member_id: string; revision: string };
  leader: string;
}

export function memberStatus(address: string, deadlineMs = ADMIN_CALL_DEADLINE_MS): Promise<MemberStatus> {
  return withClient(address, 'Maintenance', async (client) => {
    const status = await call<StatusWire>(client, 'Status', {}, deadlineMs);
    return {
      memberId: String(status.header.member_id),
      leaderId: String(status.leader),
      revision: BigInt(status.header.revision),
    };
  });
}

/**
 * The revision a serializable (local, no quorum) read on this member sees: what it has applied.
 * Used to tell when a restarted or new member has caught up.
 */
export function serializableRevision(address: string, deadlineMs = ADMIN_CALL_DEADLINE_MS): Promise<bigint> {
  return withClient(address, 'KV', async (client) => {
    const request = { key: Buffer.from('\0'), limit: 1, serializable: true, count_only: true };
    const response = await call<{ header: { revision: string } }>(client, 'Range', request, deadlineMs);
    return BigInt(response.header.revision);
  });
}

/** Cluster.MemberAdd through `address`; returns the new member's id (decimal string). */
export function memberAdd(address: string, peerUrl: string): Promise<string> {
  return withClient(address, 'Cluster', async (client) => {
    const response = await call<{ member: { ID: string } }>(
      client,
      'MemberAdd',
      { peerURLs: [peerUrl], isLearner: false },
      ADMIN_CALL_DEADLINE_MS,
    );
    return String(response.member.ID);
  });
}
