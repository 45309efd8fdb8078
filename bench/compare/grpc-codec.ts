// Encoding etcd requests as gRPC message bodies without a gRPC library: protobuf from the repo's
// proto/ files via @grpc/proto-loader's requestSerialize, then the 5-byte gRPC prefix (one flag
// byte 0 = uncompressed, a 4-byte big-endian length). Bodies are built once, before any timed
// window, and reused for every request.

import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_LOADER_OPTIONS, protoDirectory } from '../../test/support/grpc-client.js';

export const GRPC_PREFIX_BYTES = 5;
const UNCOMPRESSED_FLAG = 0;

type Serialize = (message: object) => Buffer;

interface MethodEntry {
  readonly path: string;
  readonly requestSerialize: Serialize;
}

export type ServiceName = 'KV' | 'Lease' | 'Watch';

let definitionCache: protoLoader.PackageDefinition | undefined;

function definition(): protoLoader.PackageDefinition {
  if (definitionCache !== undefined) return definitionCache;
  const directory = protoDirectory();
  definitionCache = protoLoader.loadSync([path.join(directory, 'rpc.proto')], {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [directory],
  });
  return definitionCache;
}

function method(service: ServiceName, name: string): MethodEntry {
  const entry = (definition()[`etcdserverpb.${service}`] as Record<string, unknown> | undefined)?.[name];
  if (entry === undefined) throw new Error(`etcdserverpb.${service}/${name} not in proto/rpc.proto`);
  return entry as MethodEntry;
}

/** The HTTP/2 :path of a method, e.g. /etcdserverpb.KV/Put. */
export function methodPath(service: ServiceName, name: string): string {
  return method(service, name).path;
}

/** One gRPC message: prefix plus the protobuf encoding of `message`. */
export function encodeRequest(service: ServiceName, name: string, message: object): Buffer {
  return grpcFrame(method(service, name).requestSerialize(message));
}

export function grpcFrame(protobuf: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + protobuf.length);
  framed.writeUInt8(UNCOMPRESSED_FLAG, 0);
  framed.writeUInt32BE(protobuf.length, 1);
  protobuf.copy(framed, GRPC_PREFIX_BYTES);
  return framed;
}

/** The benchmark's value: `bytes` bytes of a fixed pattern, the same for every key. */
export function fixedValue(bytes: number): Buffer {
  const value = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) value[i] = 0x61 + (i % 26);
  return value;
}

/** The end of the range of every key starting with `prefix`: the prefix with its last byte + 1. */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, 'utf8');
  if (end.length === 0 || end[end.length - 1] === 0xff) throw new Error(`no simple range end for ${prefix}`);
  end[end.length - 1]! += 1;
  return end;
}

/** Splits a stream of gRPC messages (any chunking) into the protobuf bodies. */
export class GrpcMessageReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Feeds one chunk of a response stream; calls `onMessage` for every complete message in it. */
  push(chunk: Buffer, onMessage: (protobuf: Buffer) => void): void {
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (buffer.length >= GRPC_PREFIX_BYTES) {
      if (buffer[0] !== UNCOMPRESSED_FLAG) throw new Error(`compressed gRPC message (flag ${buffer[0]})`);
      const length = buffer.readUInt32BE(1);
      if (buffer.length < GRPC_PREFIX_BYTES + length) break;
      onMessage(buffer.subarray(GRPC_PREFIX_BYTES, GRPC_PREFIX_BYTES + length));
      buffer = buffer.subarray(GRPC_PREFIX_BYTES + length);
    }
    this.pending = buffer;
  }
}
