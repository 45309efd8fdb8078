// The gateway's paths, exactly those etcd 3.4.23 answers (checked against the real binary): its
// rpc.proto `google.api.http` bindings plus the v3lock and v3election gateways. Flotilla's
// proto/ files come from a later etcd and bind a few more (AuthStatus, Downgrade); etcd 3.4 does
// not serve those, so neither does the gateway. Each path names a gRPC method, which answers the
// request exactly as it answers gRPC clients (grpc-server.ts lookup()).

import path from 'node:path';
import protobuf from 'protobufjs';

/** How etcd 3.4 mounts the gateway: `/v3/...`, and `/v3beta/...` for older clients (not `/v3alpha`). */
export const API_PREFIXES: readonly string[] = ['/v3', '/v3beta'];

const ROUTES: Readonly<Record<string, string>> = {
  '/kv/range': 'etcdserverpb.KV/Range',
  '/kv/put': 'etcdserverpb.KV/Put',
  '/kv/deleterange': 'etcdserverpb.KV/DeleteRange',
  '/kv/txn': 'etcdserverpb.KV/Txn',
  '/kv/compaction': 'etcdserverpb.KV/Compact',
  '/watch': 'etcdserverpb.Watch/Watch',
  '/lease/grant': 'etcdserverpb.Lease/LeaseGrant',
  '/lease/revoke': 'etcdserverpb.Lease/LeaseRevoke',
  '/kv/lease/revoke': 'etcdserverpb.Lease/LeaseRevoke',
  '/lease/keepalive': 'etcdserverpb.Lease/LeaseKeepAlive',
  '/lease/timetolive': 'etcdserverpb.Lease/LeaseTimeToLive',
  '/kv/lease/timetolive': 'etcdserverpb.Lease/LeaseTimeToLive',
  '/lease/leases': 'etcdserverpb.Lease/LeaseLeases',
  '/kv/lease/leases': 'etcdserverpb.Lease/LeaseLeases',
  '/cluster/member/add': 'etcdserverpb.Cluster/MemberAdd',
  '/cluster/member/remove': 'etcdserverpb.Cluster/MemberRemove',
  '/cluster/member/update': 'etcdserverpb.Cluster/MemberUpdate',
  '/cluster/member/list': 'etcdserverpb.Cluster/MemberList',
  '/cluster/member/promote': 'etcdserverpb.Cluster/MemberPromote',
  '/maintenance/alarm': 'etcdserverpb.Maintenance/Alarm',
  '/maintenance/status': 'etcdserverpb.Maintenance/Status',
  '/maintenance/defragment': 'etcdserverpb.Maintenance/Defragment',
  // etcd binds Hash and HashKV to this one path; grpc-gateway lets the first binding win: Hash.
  '/maintenance/hash': 'etcdserverpb.Maintenance/Hash',
  '/maintenance/snapshot': 'etcdserverpb.Maintenance/Snapshot',
  '/maintenance/transfer-leadership': 'etcdserverpb.Maintenance/MoveLeader',
  '/auth/enable': 'etcdserverpb.Auth/AuthEnable',
  '/auth/disable': 'etcdserverpb.Auth/AuthDisable',
  '/auth/authenticate': 'etcdserverpb.Auth/Authenticate',
  '/auth/user/add': 'etcdserverpb.Auth/UserAdd',
  '/auth/user/get': 'etcdserverpb.Auth/UserGet',
  '/auth/user/list': 'etcdserverpb.Auth/UserList',
  '/auth/user/delete': 'etcdserverpb.Auth/UserDelete',
  '/auth/user/changepw': 'etcdserverpb.Auth/UserChangePassword',
  '/auth/user/grant': 'etcdserverpb.Auth/UserGrantRole',
  '/auth/user/revoke': 'etcdserverpb.Auth/UserRevokeRole',
  '/auth/role/add': 'etcdserverpb.Auth/RoleAdd',
  '/auth/role/get': 'etcdserverpb.Auth/RoleGet',
  '/auth/role/list': 'etcdserverpb.Auth/RoleList',
  '/auth/role/delete': 'etcdserverpb.Auth/RoleDelete',
  '/auth/role/grant': 'etcdserverpb.Auth/RoleGrantPermission',
  '/auth/role/revoke': 'etcdserverpb.Auth/RoleRevokePermission',
  '/lock/lock': 'v3lockpb.Lock/Lock',
  '/lock/unlock': 'v3lockpb.Lock/Unlock',
  '/election/campaign': 'v3electionpb.Election/Campaign',
  '/election/proclaim': 'v3electionpb.Election/Proclaim',
  '/election/leader': 'v3electionpb.Election/Leader',
  '/election/observe': 'v3electionpb.Election/Observe',
  '/election/resign': 'v3electionpb.Election/Resign',
};

export interface Route {
  /** The gRPC path, "/etcdserverpb.KV/Range". */
  readonly grpcPath: string;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/** Resolves the route table against the proto files; a name that does not resolve is a bug. */
export function loadRoutes(protoDir: string, protoFiles: readonly string[]): ReadonlyMap<string, Route> {
  const root = new protobuf.Root();
  // Imports ("./kv.proto") resolve against the proto directory, normalised so none loads twice.
  root.resolvePath = (_origin, target) => path.resolve(protoDir, target);
  root.loadSync(
    protoFiles.map((file) => path.resolve(protoDir, file)),
    { keepCase: true },
  );
  root.resolveAll();
  const routes = new Map<string, Route>();
  for (const [path, method] of Object.entries(ROUTES)) {
    const [serviceName, methodName] = method.split('/');
    const definition = root.lookupService(serviceName).methods[methodName];
    if (definition === undefined)
      throw new Error(`gateway route ${path}: no method ${method} in ${protoDir}`);
    routes.set(path, {
      grpcPath: `/${method}`,
      requestType: definition.resolvedRequestType as protobuf.Type,
      responseType: definition.resolvedResponseType as protobuf.Type,
      requestStream: definition.requestStream === true,
      responseStream: definition.responseStream === true,
    });
  }
  return routes;
}

/** The route for a request path ("/v3/kv/range?x" → /kv/range), 'not-api' outside the prefixes. */
export function matchRoute(routes: ReadonlyMap<string, Route>, url: string): Route | 'unknown' | 'not-api' {
  const path = url.split('?', 1)[0];
  for (const prefix of API_PREFIXES) {
    if (!path.startsWith(`${prefix}/`)) continue;
    return routes.get(path.slice(prefix.length)) ?? 'unknown';
  }
  return 'not-api';
}
