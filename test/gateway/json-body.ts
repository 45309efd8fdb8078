// Request objects in @grpc/proto-loader's shape (as the gRPC differential generator makes them) to
// JSON bodies, in the several spellings etcd's gateway accepts: proto or lowerCamel field names,
// 64-bit integers as strings or numbers, enums by name or number. A seeded Random picks the
// spelling, so both servers get byte-identical bodies for a seed.

import type protobuf from 'protobufjs';
import type { Random } from '../compat/random.js';

const WIDE_INTEGERS: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** lowerCamel as protoc's json_name spells a field. */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

export function jsonBody(type: protobuf.Type, message: Record<string, unknown>, random: Random): string {
  const parts: string[] = [];
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    const name = random.chance(0.15) ? camel(field.name) : field.name;
    const json = field.repeated
      ? `[${(value as unknown[]).map((item) => valueJson(field, item, random)).join(',')}]`
      : valueJson(field, value, random);
    parts.push(`${JSON.stringify(name)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}

function valueJson(field: protobuf.Field, value: unknown, random: Random): string {
  const resolved = field.resolvedType;
  if (resolved !== null && 'fieldsArray' in resolved) {
    return jsonBody(resolved as protobuf.Type, value as Record<string, unknown>, random);
  }
  if (resolved !== null && 'valuesById' in resolved) {
    const name = (resolved as protobuf.Enum).valuesById[Number(value)];
    return name !== undefined && random.chance(0.7) ? JSON.stringify(name) : String(value);
  }
  if (WIDE_INTEGERS.has(field.type)) {
    const text = String(value);
    const safe = Number.isSafeInteger(Number(text));
    return safe && random.chance(0.25) ? text : JSON.stringify(text);
  }
  if (field.type === 'bytes') return JSON.stringify(Buffer.from(value as Uint8Array).toString('base64'));
  return JSON.stringify(value);
}
