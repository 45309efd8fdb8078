// What the client-port fuzzer sends: for every KV/Lease/Watch/Cluster/Maintenance method, valid
// requests mutated at the byte level, broken gRPC framing and compression flags, deeply nested
// transactions, raw HTTP/2 byte streams cut and flipped, and mutated JSON for the gateway.
//
// Methods that change the cluster itself (member add/remove/update/promote, leader moves, alarms)
// only ever get inputs that cannot decode: a mutation that happens to decode would be a valid
// request, and e.g. a NOSPACE alarm or a removed member is correct behaviour, not a robustness bug.

import path from 'node:path';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoDirectory } from '../support/grpc-client.js';
import { grpcFrame } from '../support/raw-grpc.js';
import { mutate, type Rng } from './mutate.js';

export type GrpcInput =
  | {
      readonly kind: 'grpc';
      readonly label: string;
      readonly path: string;
      readonly body: Buffer;
      readonly headers: Record<string, string>;
    }
  | { readonly kind: 'http2-bytes'; readonly label: string; readonly bytes: Buffer }
  | { readonly kind: 'gateway'; readonly label: string; readonly path: string; readonly body: Buffer };

interface MethodSeed {
  readonly path: string;
  readonly seeds: readonly Buffer[];
  /** Admin methods: only undecodable bodies are sent (see the file comment). */
  readonly undecodableOnly: boolean;
  readonly decode: (body: Buffer) => unknown;
}

const b = (text: string) => Buffer.from(text);

/** Valid requests per method, as objects; encoded with the method's own serializer. */
const SEED_REQUESTS: Record<string, Record<string, readonly object[]>> = {
  KV: {
    Range: [
      { key: b('fuzz/a'), range_end: b('fuzz0'), limit: 10 },
      { key: b('\0'), range_end: b('\0') },
    ],
    Put: [{ key: b('fuzz/a'), value: b('v'), prev_kv: true }],
    DeleteRange: [{ key: b('fuzz/x'), range_end: b('fuzz/y'), prev_kv: true }],
    Txn: [
      {
        compare: [{ key: b('fuzz/a'), target: 3, result: 0, value: b('v') }],
        success: [{ request_put: { key: b('fuzz/b'), value: b('x') } }],
        failure: [{ request_range: { key: b('fuzz/a') } }],
      },
    ],
    Compact: [{ revision: '1' }],
  },
  Watch: {
    Watch: [
      { create_request: { key: b('fuzz/'), range_end: b('fuzz0'), start_revision: '1', prev_kv: true } },
      { cancel_request: { watch_id: '0' } },
      { progress_request: {} },
    ],
  },
  Lease: {
    LeaseGrant: [{ TTL: '5', ID: '0' }],
    LeaseRevoke: [{ ID: '1' }],
    LeaseKeepAlive: [{ ID: '1' }],
    LeaseTimeToLive: [{ ID: '1', keys: true }],
    LeaseLeases: [{}],
  },
  Cluster: {
    MemberList: [{}],
    MemberAdd: [{ peerURLs: ['http://127.0.0.1:1'], isLearner: true }],
    MemberRemove: [{ ID: '1' }],
    MemberUpdate: [{ ID: '1', peerURLs: ['http://127.0.0.1:1'] }],
    MemberPromote: [{ ID: '1' }],
  },
  Maintenance: {
    Status: [{}],
    Hash: [{}],
    HashKV: [{ revision: '0' }],
    Defragment: [{}],
    Snapshot: [{}],
    Alarm: [{ action: 0 }],
    MoveLeader: [{ targetID: '1' }],
  },
};

const ADMIN_METHODS = new Set([
  'MemberAdd',
  'MemberRemove',
  'MemberUpdate',
  'MemberPromote',
  'Alarm',
  'MoveLeader',
]);

const GATEWAY_SEEDS: readonly [string, string][] = [
  ['/v3/kv/range', '{"key":"ZnV6ei9h","range_end":"ZnV6ejA=","limit":"10"}'],
  ['/v3/kv/put', '{"key":"ZnV6ei9h","value":"dg==","prev_kv":true}'],
  ['/v3/kv/deleterange', '{"key":"ZnV6ei94","range_end":"ZnV6ei95"}'],
  [
    '/v3/kv/txn',
    '{"compare":[{"key":"ZnV6ei9h","target":"VALUE","result":"EQUAL","value":"dg=="}],"success":[{"request_put":{"key":"ZnV6ei9i","value":"eA=="}}]}',
  ],
  ['/v3/kv/compaction', '{"revision":"1"}'],
  ['/v3/lease/grant', '{"TTL":"5"}'],
  ['/v3/lease/revoke', '{"ID":"1"}'],
  ['/v3/lease/timetolive', '{"ID":"1","keys":true}'],
  ['/v3/lease/leases', '{}'],
  ['/v3/cluster/member/list', '{}'],
  ['/v3/maintenance/status', '{}'],
  ['/v3/maintenance/hash', '{"revision":"0"}'],
];

function loadMethodSeeds(): MethodSeed[] {
  const directory = protoDirectory();
  const definition = protoLoader.loadSync(
    [path.join(directory, 'rpc.proto'), path.join(directory, 'kv.proto')],
    { ...PROTO_LOADER_OPTIONS, includeDirs: [directory] },
  );
  const root = grpc.loadPackageDefinition(definition).etcdserverpb as grpc.GrpcObject;
  const methods: MethodSeed[] = [];
  for (const [service, requests] of Object.entries(SEED_REQUESTS)) {
    const client = root[service] as grpc.ServiceClientConstructor;
    for (const [method, objects] of Object.entries(requests)) {
      const methodDefinition = client.service[method];
      methods.push({
        path: methodDefinition.path,
        seeds: objects.map((o) => methodDefinition.requestSerialize(o)),
        undecodableOnly: ADMIN_METHODS.has(method),
        decode: (body) => methodDefinition.requestDeserialize(body),
      });
    }
  }
  return methods;
}

function decodes(method: MethodSeed, body: Buffer): boolean {
  try {
    method.decode(body);
    return true;
  } catch {
    // Not decodable: exactly what an admin method may be sent.
    return false;
  }
}

/**
 * A TxnRequest nested `depth` deep through success[0].request_txn, encoded by hand. Nothing
 * follows a nested message, so the encoding is just the headers, outermost first: lengths are
 * computed inside-out, then everything is joined once (joining per level would be quadratic).
 */
function nestedTxn(depth: number): Buffer {
  const headers: Buffer[] = [];
  let innerLength = 0;
  for (let i = 0; i < depth; i++) {
    const requestOpHeader = Buffer.concat([Buffer.from([(4 << 3) | 2]), varint(innerLength)]);
    const requestOpLength = requestOpHeader.length + innerLength;
    const txnHeader = Buffer.concat([Buffer.from([(2 << 3) | 2]), varint(requestOpLength)]);
    headers.push(requestOpHeader, txnHeader);
    innerLength = txnHeader.length + requestOpLength;
  }
  return Buffer.concat(headers.reverse());
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Deep encodings take a while to build; the same few depths are sent again and again. */
const nestedTxnCache = new Map<number, Buffer>();

let gzipBombCache: Buffer | undefined;
/** 16 KiB that inflate to 16 MiB, far past the receive limit: must be refused, not allocated. */
function gzipBomb(): Buffer {
  gzipBombCache ??= zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024));
  return gzipBombCache;
}

function prefixed(flag: number, declaredLength: number, body: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([prefix, body]);
}

/** HTTP/2 frame: 24-bit length, type, flags, stream id (RFC 9113 §4.1). */
function http2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK "literal header field without indexing, new name" (RFC 7541 §6.2.2); short strings only. */
function hpackLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0, name.length]), b(name), Buffer.from([value.length]), b(value)]);
}

/** A whole valid client connection: preface, SETTINGS, one gRPC call on stream 1. */
function http2Call(path: string, message: Buffer): Buffer {
  const headers = Buffer.concat([
    hpackLiteral(':method', 'POST'),
    hpackLiteral(':scheme', 'http'),
    hpackLiteral(':path', path),
    hpackLiteral(':authority', 'fuzz'),
    hpackLiteral('content-type', 'application/grpc'),
    hpackLiteral('te', 'trailers'),
  ]);
  return Buffer.concat([
    b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    http2Frame(4, 0, 0, Buffer.alloc(0)),
    http2Frame(1, 0x4, 1, headers),
    http2Frame(0, 0x1, 1, grpcFrame(message)),
  ]);
}

export class GrpcInputs {
  private readonly methods = loadMethodSeeds();
  private readonly userMethods = this.methods.filter((m) => !m.undecodableOnly);

  constructor(private readonly rng: Rng) {}

  next(): GrpcInput {
    const rng = this.rng;
    const roll = rng.int(100);
    if (roll < 45) return this.mutatedMessage();
    if (roll < 65) return this.badFraming();
    if (roll < 72) return this.deepTxn();
    if (roll < 80) return this.rawHttp2();
    return this.gateway();
  }

  private mutatedMessage(): GrpcInput {
    const method = this.rng.pick(this.methods);
    const seed = this.rng.pick(method.seeds);
    let body = mutate(seed, this.rng);
    // An admin method gets a body that cannot decode; give up on decodable ones after a few tries.
    for (let tries = 0; method.undecodableOnly && decodes(method, body) && tries < 8; tries++) {
      body = mutate(seed, this.rng);
    }
    if (method.undecodableOnly && decodes(method, body)) body = Buffer.from([0x0f]);
    return {
      kind: 'grpc',
      label: `mutated ${method.path}`,
      path: method.path,
      body: grpcFrame(body),
      headers: {},
    };
  }

  private badFraming(): GrpcInput {
    const rng = this.rng;
    const method = rng.pick(this.userMethods);
    const seed = rng.pick(method.seeds);
    const path = method.path;
    const cases: (() => GrpcInput)[] = [
      () => ({
        kind: 'grpc',
        label: `declared longer ${path}`,
        path,
        body: prefixed(0, seed.length + 1 + rng.int(1000), seed),
        headers: {},
      }),
      () => ({
        kind: 'grpc',
        label: `huge declared ${path}`,
        path,
        body: prefixed(0, 0xffff_ffff, seed),
        headers: {},
      }),
      () => ({
        kind: 'grpc',
        label: `cut prefix ${path}`,
        path,
        body: grpcFrame(seed).subarray(0, rng.int(5)),
        headers: {},
      }),
      () => ({
        kind: 'grpc',
        label: `compressed flag, no encoding ${path}`,
        path,
        body: prefixed(1, seed.length, seed),
        headers: {},
      }),
      () => ({
        kind: 'grpc',
        label: `invalid flag ${path}`,
        path,
        body: prefixed(2 + rng.int(254), seed.length, seed),
        headers: {},
      }),
      () => {
        const garbage = rng.bytes(1 + rng.int(64));
        return {
          kind: 'grpc',
          label: `gzip garbage ${path}`,
          path,
          body: prefixed(1, garbage.length, garbage),
          headers: { 'grpc-encoding': 'gzip' },
        };
      },
      () => {
        const bomb = gzipBomb();
        return {
          kind: 'grpc',
          label: `gzip bomb ${path}`,
          path,
          body: prefixed(1, bomb.length, bomb),
          headers: { 'grpc-encoding': 'gzip' },
        };
      },
      () => ({
        kind: 'grpc',
        label: `unknown encoding ${path}`,
        path,
        body: prefixed(1, seed.length, seed),
        headers: { 'grpc-encoding': 'snappy' },
      }),
      () => ({
        kind: 'grpc',
        label: `two messages ${path}`,
        path,
        body: Buffer.concat([grpcFrame(seed), grpcFrame(seed)]),
        headers: {},
      }),
      () => ({ kind: 'grpc', label: `no message ${path}`, path, body: Buffer.alloc(0), headers: {} }),
      () => ({
        kind: 'grpc',
        label: `unframed garbage ${path}`,
        path,
        body: rng.bytes(1 + rng.int(200)),
        headers: {},
      }),
      () => ({
        kind: 'grpc',
        label: 'unknown method',
        path: `/etcdserverpb.KV/${rng.bytes(4).toString('hex')}`,
        body: grpcFrame(seed),
        headers: {},
      }),
    ];
    return rng.pick(cases)();
  }

  private deepTxn(): GrpcInput {
    const depth = this.rng.pick([2, 8, 64, 1000, 20_000, 200_000]);
    let body = nestedTxnCache.get(depth);
    if (body === undefined) {
      body = grpcFrame(nestedTxn(depth));
      nestedTxnCache.set(depth, body);
    }
    return {
      kind: 'grpc',
      label: `txn nested ${depth} deep`,
      path: '/etcdserverpb.KV/Txn',
      body,
      headers: {},
    };
  }

  private rawHttp2(): GrpcInput {
    const method = this.rng.pick(this.userMethods);
    const bytes = mutate(http2Call(method.path, this.rng.pick(method.seeds)), this.rng);
    return { kind: 'http2-bytes', label: `raw http2 ${method.path}`, bytes };
  }

  private gateway(): GrpcInput {
    const rng = this.rng;
    const [path, json] = rng.pick(GATEWAY_SEEDS);
    const structural = [
      () => b(`${'['.repeat(100_000)}${']'.repeat(100_000)}`),
      () => b(`{"key":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`),
      () => b('{"key":"ZnV6eg==","limit":"99999999999999999999999"}'),
      () => b('{"key":"%%%not base64%%%"}'),
      () => Buffer.concat([b('{"key":"'), Buffer.from([0xff, 0xfe]), b('"}')]),
      () => b(''),
    ];
    const body = rng.int(4) === 0 ? rng.pick(structural)() : mutate(b(json), rng);
    return { kind: 'gateway', label: `gateway ${path}`, path, body };
  }
}
