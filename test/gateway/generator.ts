// Seeded HTTP request sequences for the gateway's differential test. Most requests are the gRPC
// differential generator's (test/compat/generator.ts: KV, txn, compaction, leases, watches, invalid
// requests) written as JSON in a randomly chosen spelling; on top come what only the gateway has:
// malformed and mistyped bodies, unknown paths and methods, streamed keep-alives, a watch stream
// that creates two watchers and cancels one, status and member list.

import type protobuf from 'protobufjs';
import { loadRoutes, type Route } from '../../src/server/gateway/routes.js';
import { type GeneratorContext, type Op, OpGenerator } from '../compat/generator.js';
import { Random } from '../compat/random.js';
import { protoDirectory } from '../support/grpc-client.js';
import { jsonBody } from './json-body.js';

export type GatewayOp =
  | { readonly kind: 'unary'; readonly path: string; readonly body: Buffer; readonly method?: string }
  /** Streams whose answers end by themselves (keep-alive: one answer per request, then the end). */
  | { readonly kind: 'stream'; readonly path: string; readonly body: Buffer }
  /**
   * A watch: once `watcherCount` watchers are created (and, with `cancels`, one cancelled),
   * `marker` is put; collection ends with the marker's event.
   */
  | {
      readonly kind: 'watch';
      readonly body: Buffer;
      readonly marker: Buffer;
      readonly watcherCount: number;
      readonly cancels: boolean;
    };

const OP_WEIGHTS = {
  compat: 70,
  malformed: 10,
  mistyped: 5,
  badPath: 3,
  keepAlive: 4,
  watchCancel: 3,
  status: 2,
  memberList: 2,
  emptyBody: 1,
} as const;

/** Paths the gRPC generator's ops go to; several have an etcd alias. */
const PATHS: Readonly<Record<Exclude<Op['kind'], 'watch' | 'hashKV'>, readonly string[]>> = {
  range: ['/kv/range'],
  put: ['/kv/put'],
  deleteRange: ['/kv/deleterange'],
  txn: ['/kv/txn'],
  compact: ['/kv/compaction'],
  leaseGrant: ['/lease/grant'],
  leaseRevoke: ['/lease/revoke', '/kv/lease/revoke'],
  leaseTimeToLive: ['/lease/timetolive', '/kv/lease/timetolive'],
  leaseLeases: ['/lease/leases', '/kv/lease/leases'],
};

/** Bodies only these paths get corrupted: a corrupted lease grant could ask for a random lease ID. */
const CORRUPTIBLE: ReadonlySet<string> = new Set(['/kv/range', '/kv/put', '/kv/deleterange', '/kv/txn']);
const CORRUPTING_BYTES = Buffer.from('{}[]":,0123-.eEtfnu\\ x\u00ff', 'latin1');
const BAD_PATHS: readonly string[] = [
  '/v3/kv/rang',
  '/v3/kv/range/',
  '/v3alpha/kv/range',
  '/v4/kv/range',
  '/v3/',
];
const KNOWN_LEASE_IDS: readonly string[] = ['1', '2', '42', '9223372036854775807', '5'];

let routesCache: ReadonlyMap<string, Route> | undefined;

function routes(): ReadonlyMap<string, Route> {
  routesCache ??= loadRoutes(`${protoDirectory()}/`, ['rpc.proto', 'v3lock.proto', 'v3election.proto']);
  return routesCache;
}

function requestType(path: string): protobuf.Type {
  const route = routes().get(path);
  if (route === undefined) throw new Error(`no gateway route ${path}`);
  return route.requestType;
}

export class GatewayOpGenerator {
  private readonly random: Random;
  private readonly ops: OpGenerator;

  constructor(readonly seed: number) {
    this.random = new Random(seed);
    this.ops = new OpGenerator(seed);
  }

  next(context: GeneratorContext): GatewayOp {
    switch (this.random.weighted(OP_WEIGHTS)) {
      case 'compat':
        return this.fromCompat(this.ops.next(context));
      case 'malformed':
        return this.malformed(context);
      case 'mistyped':
        return this.mistyped(context);
      case 'badPath':
        return { kind: 'unary', path: this.random.pick(BAD_PATHS), body: Buffer.from('{}') };
      case 'keepAlive':
        return this.keepAlive();
      case 'watchCancel':
        return this.watchCancel();
      case 'status':
        return { kind: 'unary', path: this.path('/maintenance/status'), body: Buffer.from('{}') };
      case 'memberList':
        return { kind: 'unary', path: this.path('/cluster/member/list'), body: Buffer.from('') };
      case 'emptyBody':
        return { kind: 'unary', path: this.path(this.random.pick(PATHS.put)), body: Buffer.from('') };
    }
  }

  /** A path under the prefix etcd 3.4 uses, or now and then its /v3beta alias. */
  private path(suffix: string): string {
    return `${this.random.chance(0.1) ? '/v3beta' : '/v3'}${suffix}`;
  }

  private body(path: string, message: object): Buffer {
    return Buffer.from(
      jsonBody(requestType(path), message as Record<string, unknown>, this.random),
      'latin1',
    );
  }

  private fromCompat(op: Op): GatewayOp {
    if (op.kind === 'watch') {
      const body = this.body('/watch', { create_request: op.create });
      const marker = this.body('/kv/put', op.marker);
      return { kind: 'watch', body, marker, watcherCount: 1, cancels: false };
    }
    if (op.kind === 'hashKV') {
      // /v3/maintenance/hash is etcd's Hash (whole-database hash): not comparable, not served.
      return { kind: 'unary', path: this.path('/maintenance/status'), body: Buffer.from('{}') };
    }
    const suffix = this.random.pick(PATHS[op.kind]);
    const message = 'request' in op ? op.request : {};
    return { kind: 'unary', path: this.path(suffix), body: this.body(suffix, message) };
  }

  /** A valid body with one byte cut, dropped, changed or added: syntax errors must read as Go's. */
  private malformed(context: GeneratorContext): GatewayOp {
    let op = this.fromCompat(this.ops.next(context));
    while (op.kind !== 'unary' || !CORRUPTIBLE.has(op.path.replace(/^\/v3(beta)?/, ''))) {
      op = this.fromCompat(this.ops.next(context));
    }
    const body = Buffer.from(op.body);
    const at = this.random.below(body.length);
    const corrupted = ((): Buffer => {
      switch (this.random.weighted({ truncate: 3, drop: 3, change: 3, insert: 3 })) {
        case 'truncate':
          return body.subarray(0, at);
        case 'drop':
          return Buffer.concat([body.subarray(0, at), body.subarray(at + 1)]);
        case 'change':
          body[at] = this.random.pick([...CORRUPTING_BYTES]);
          return body;
        case 'insert':
          return Buffer.concat([
            body.subarray(0, at),
            Buffer.from([this.random.pick([...CORRUPTING_BYTES])]),
            body.subarray(at),
          ]);
      }
    })();
    return { kind: 'unary', path: op.path, body: corrupted };
  }

  /** A field given a JSON value of the wrong kind. */
  private mistyped(_context: GeneratorContext): GatewayOp {
    const values = [
      '"x"',
      '"12"',
      '" 7 "',
      '""',
      '12',
      '-1',
      '1.5',
      '1e3',
      'true',
      'null',
      '[]',
      '[1,2]',
      '{}',
    ];
    const fields = [
      'key',
      'range_end',
      'limit',
      'revision',
      'sort_order',
      'serializable',
      'keys_only',
      'rangeEnd',
    ];
    const field = this.random.pick(fields);
    const body = `{"key":"YQ==",${JSON.stringify(field)}:${this.random.pick(values)}}`;
    return { kind: 'unary', path: this.path('/kv/range'), body: Buffer.from(body) };
  }

  /** Several keep-alives in one body: granted leases, unknown ones, ids as strings or numbers. */
  private keepAlive(): GatewayOp {
    const count = this.random.between(1, 3);
    const requests: string[] = [];
    for (let index = 0; index < count; index++) {
      const id = this.random.pick(KNOWN_LEASE_IDS);
      const safe = Number.isSafeInteger(Number(id));
      requests.push(`{"ID":${safe && this.random.chance(0.3) ? id : JSON.stringify(id)}}`);
    }
    return { kind: 'stream', path: this.path('/lease/keepalive'), body: Buffer.from(requests.join('\n')) };
  }

  /** Two watchers on one stream, then the first cancelled, then a marker put the second sees. */
  private watchCancel(): GatewayOp {
    const key = Buffer.from('a').toString('base64');
    const body = [
      `{"create_request":{"key":"${key}"}}`,
      `{"create_request":{"key":"${key}","prev_kv":true}}`,
      '{"cancel_request":{"watch_id":"0"}}',
    ].join('\n');
    const marker = Buffer.from(`{"key":"${key}","value":"${Buffer.from('m').toString('base64')}"}`);
    return { kind: 'watch', body: Buffer.from(body), marker, watcherCount: 2, cancels: true };
  }
}
