// JSON request bodies to protobuf request objects, as etcd 3.4's gateway reads them (grpc-gateway
// v1 with golang/protobuf's jsonpb): proto field names or their lowerCamel JSON names, int64 as a
// number or a string, enums by name or number, bytes as padded standard base64, unknown fields
// ignored, `null` meaning "not set". Errors carry Go's exact text, which etcd shows the client.
//
// The result is a plain object for the method's requestSerialize. Like etcd's gateway, which is a
// gRPC client of its own server, default values of ordinary fields are left out (proto3 does not
// send them), while a member of a oneof is sent even when it holds its default.

import protobuf from 'protobufjs';
import type { ProtoObject } from '../api/convert.js';
import { Base64Error, goBase64Decode } from './go-base64.js';
import { syntaxError } from './go-json.js';
import { goQuote } from './go-text.js';
import { goKindName, type JsonNode, parseValidJson } from './json-tree.js';

/** A body that does not fit the request message; the message is Go's error text. */
export class JsonRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonRequestError';
  }
}

interface IntegerKind {
  readonly goType: string;
  readonly min: bigint;
  readonly max: bigint;
  /** 64-bit values travel as decimal strings (proto-loader `longs: String`). */
  readonly wide: boolean;
}

const INT32: IntegerKind = { goType: 'int32', min: -(1n << 31n), max: (1n << 31n) - 1n, wide: false };
const UINT32: IntegerKind = { goType: 'uint32', min: 0n, max: (1n << 32n) - 1n, wide: false };
const INT64: IntegerKind = { goType: 'int64', min: -(1n << 63n), max: (1n << 63n) - 1n, wide: true };
const UINT64: IntegerKind = { goType: 'uint64', min: 0n, max: (1n << 64n) - 1n, wide: true };
const UINT8: IntegerKind = { goType: 'uint8', min: 0n, max: 255n, wide: false };

const INTEGER_KINDS: Record<string, IntegerKind> = {
  int32: INT32,
  sint32: INT32,
  sfixed32: INT32,
  uint32: UINT32,
  fixed32: UINT32,
  int64: INT64,
  sint64: INT64,
  sfixed64: INT64,
  uint64: UINT64,
  fixed64: UINT64,
};

const MESSAGE_GO_TYPE = 'map[string]json.RawMessage';
const LIST_GO_TYPE = '[]json.RawMessage';

function typeError(node: JsonNode, goType: string): JsonRequestError {
  return new JsonRequestError(`json: cannot unmarshal ${goKindName(node)} into Go value of type ${goType}`);
}

/** The request object for `type` from a parsed body (jsonpb.Unmarshaler.unmarshalValue). */
export function decodeMessage(type: protobuf.Type, node: JsonNode): ProtoObject {
  if (node.kind === 'null') return {};
  if (node.kind !== 'object') throw typeError(node, MESSAGE_GO_TYPE);
  const fields = new Map(node.fields);
  const message: ProtoObject = {};
  for (const field of type.fieldsArray) {
    if (field.partOf !== null) continue;
    const raw = consume(fields, field);
    if (raw === undefined) continue;
    const value = fieldValue(field, raw);
    if (value !== undefined && !isDefault(value)) message[field.name] = value;
  }
  // jsonpb looks at oneof members last; a member that is present is sent even at its default.
  for (const oneof of type.oneofsArray) {
    for (const field of oneof.fieldsArray) {
      const raw = consume(fields, field);
      if (raw === undefined) continue;
      const value = fieldValue(field, raw);
      for (const other of oneof.fieldsArray) delete message[other.name];
      if (value !== undefined) message[field.name] = value;
      else if (isScalar(field)) message[field.name] = defaultValue(field);
    }
  }
  return message;
}

/** Takes a field's value by proto name or by lowerCamel JSON name (the latter wins, as in jsonpb). */
function consume(fields: Map<string, JsonNode>, field: protobuf.Field): JsonNode | undefined {
  const camel = jsonName(field.name);
  const byName = fields.get(field.name);
  const byCamel = fields.get(camel);
  fields.delete(field.name);
  fields.delete(camel);
  return byCamel ?? byName;
}

/** protoc's json_name: underscores dropped, the letter after each one upper-cased. */
export function jsonName(name: string): string {
  let result = '';
  let upper = false;
  for (const char of name) {
    if (char === '_') upper = true;
    else {
      result += upper ? char.toUpperCase() : char;
      upper = false;
    }
  }
  return result;
}

function isScalar(field: protobuf.Field): boolean {
  return !(field.resolvedType instanceof protobuf.Type) && !field.repeated;
}

function isDefault(value: unknown): boolean {
  if (value === false || value === '' || value === '0' || value === 0) return true;
  if (Buffer.isBuffer(value) || Array.isArray(value)) return value.length === 0;
  return false;
}

/** A scalar field's zero value, as Go holds it when the JSON says null. */
function defaultValue(field: protobuf.Field): unknown {
  if (field.type === 'bool') return false;
  if (field.type === 'string') return '';
  if (field.type === 'bytes') return undefined; // a nil []byte in a oneof is not sent
  const kind = INTEGER_KINDS[field.type];
  return kind?.wide ? '0' : 0;
}

function fieldValue(field: protobuf.Field, node: JsonNode): unknown {
  if (!field.repeated) return singleValue(field, node);
  if (node.kind === 'null') return undefined;
  if (node.kind !== 'array') throw typeError(node, LIST_GO_TYPE);
  return node.items.map((item) => singleValue(field, item) ?? elementZero(field));
}

/** A null element of a list is that element's zero value. */
function elementZero(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Type) return {};
  if (field.type === 'bytes') return Buffer.alloc(0);
  return defaultValue(field);
}

/** One value of a field's type; undefined when the JSON says null (the field stays unset). */
function singleValue(field: protobuf.Field, node: JsonNode): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return enumValue(resolved, node);
  if (resolved instanceof protobuf.Type)
    return node.kind === 'null' ? undefined : decodeMessage(resolved, node);
  const kind = INTEGER_KINDS[field.type];
  if (kind !== undefined) return integerField(kind, node);
  switch (field.type) {
    case 'bool':
      if (node.kind === 'bool') return node.value;
      if (node.kind === 'null') return undefined;
      throw typeError(node, 'bool');
    case 'string':
      if (node.kind === 'string') return node.text;
      if (node.kind === 'null') return undefined;
      throw typeError(node, 'string');
    case 'bytes':
      return bytesValue(node);
    default:
      throw new JsonRequestError(`flotilla: the gateway cannot read fields of type ${field.type}`);
  }
}

/** int32/int64/…: a JSON number, or a string whose contents jsonpb parses as JSON again. */
function integerField(kind: IntegerKind, node: JsonNode): string | number | undefined {
  if (node.kind !== 'string') return integerLiteral(kind, node);
  const inner = node.raw;
  const problem = syntaxError(inner);
  if (problem !== undefined) throw new JsonRequestError(problem);
  return integerLiteral(kind, parseValidJson(inner));
}

function integerLiteral(kind: IntegerKind, node: JsonNode): string | number | undefined {
  if (node.kind === 'null') return undefined;
  if (node.kind !== 'number') throw typeError(node, kind.goType);
  const parsed = /^-?\d+$/.test(node.raw) ? BigInt(node.raw) : undefined;
  const signed = kind.min < 0n || !node.raw.startsWith('-');
  if (parsed === undefined || !signed || parsed < kind.min || parsed > kind.max) {
    throw new JsonRequestError(
      `json: cannot unmarshal number ${node.raw} into Go value of type ${kind.goType}`,
    );
  }
  return kind.wide ? parsed.toString() : Number(parsed);
}

function enumValue(type: protobuf.Enum, node: JsonNode): number | undefined {
  if (node.kind === 'string') {
    // jsonpb looks the name up without unquoting it.
    const name = Buffer.from(node.raw).toString('latin1');
    const value = Object.hasOwn(type.values, name) ? type.values[name] : undefined;
    if (value === undefined) {
      throw new JsonRequestError(`unknown value ${goQuote(node.raw)} for enum ${goEnumName(type)}`);
    }
    return value;
  }
  const value = integerLiteral({ ...INT32, goType: goEnumName(type) }, node);
  return value === undefined ? undefined : Number(value);
}

/** The Go name gogo-protobuf registers an enum under: package, then nested names joined by "_". */
export function goEnumName(type: protobuf.Enum): string {
  const path = type.fullName.replace(/^\./, '').split('.');
  const packageName = path.shift() ?? '';
  return `${packageName}.${path.join('_')}`;
}

function bytesValue(node: JsonNode): Buffer | undefined {
  switch (node.kind) {
    case 'null':
      return undefined;
    case 'string':
      try {
        return goBase64Decode(Buffer.from(node.text, 'utf8'));
      } catch (error) {
        if (error instanceof Base64Error) throw new JsonRequestError(error.message);
        throw error;
      }
    case 'array':
      // encoding/json fills a []byte from an array of numbers, one element per byte.
      return Buffer.from(node.items.map((item) => Number(integerLiteral(UINT8, item) ?? 0)));
    default:
      throw typeError(node, '[]uint8');
  }
}
