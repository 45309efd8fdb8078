// Protobuf response objects to JSON, as etcd 3.4's gateway writes them (golang/protobuf jsonpb
// with OrigName and without EmitDefaults): proto field names in declaration order; fields at
// their default value left out (0, "", false, empty bytes and lists, enum 0) except a oneof's set
// member; 64-bit integers as decimal strings and 32-bit ones as numbers; bytes as padded standard
// base64; enums by name; strings escaped as Go's encoding/json does.
//
// Input objects are decoded as @grpc/proto-loader decodes them (grpc.ts PROTO_LOADER_OPTIONS):
// int64 as strings, enums as numbers, bytes as Buffers, absent fields undefined.

import protobuf from 'protobufjs';
import type { ProtoObject } from '../api/convert.js';
import { goJsonString } from './go-text.js';

const WIDE_INTEGERS: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const NARROW_INTEGERS: ReadonlySet<string> = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

/** `message` (of `type`) as jsonpb.Marshaler{OrigName: true} writes it. */
export function encodeMessage(type: protobuf.Type, message: ProtoObject): string {
  const parts: string[] = [];
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    if (field.partOf === null && isDefault(field, value)) continue;
    parts.push(`${goJsonString(field.name)}:${fieldJson(field, value)}`);
  }
  return `{${parts.join(',')}}`;
}

function isDefault(field: protobuf.Field, value: unknown): boolean {
  if (field.repeated) return (value as unknown[]).length === 0;
  if (field.resolvedType instanceof protobuf.Type) return false; // a present message is written
  if (field.type === 'string') return value === '';
  if (field.type === 'bytes') return (value as Uint8Array).length === 0;
  if (field.type === 'bool') return value === false;
  if (WIDE_INTEGERS.has(field.type)) return BigInt(value as string | number) === 0n;
  return Number(value) === 0; // 32-bit integers and enums
}

function fieldJson(field: protobuf.Field, value: unknown): string {
  if (!field.repeated) return valueJson(field, value);
  return `[${(value as unknown[]).map((item) => valueJson(field, item)).join(',')}]`;
}

function valueJson(field: protobuf.Field, value: unknown): string {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return encodeMessage(resolved, value as ProtoObject);
  if (resolved instanceof protobuf.Enum) {
    const name = resolved.valuesById[Number(value)];
    return name === undefined ? String(Number(value)) : goJsonString(name);
  }
  if (WIDE_INTEGERS.has(field.type)) return `"${BigInt(value as string | number).toString()}"`;
  if (NARROW_INTEGERS.has(field.type)) return String(Number(value));
  switch (field.type) {
    case 'bool':
      return value === true ? 'true' : 'false';
    case 'string':
      return goJsonString(String(value));
    case 'bytes':
      return `"${Buffer.from(value as Uint8Array).toString('base64')}"`;
    default:
      throw new Error(`flotilla: the gateway cannot write fields of type ${field.type}`);
  }
}
