// HashKV: a CRC32-Castagnoli over the key-value history up to a revision, so members with the
// same history can be compared. It follows etcd 3.4's kvstore.HashByRev byte for byte where it
// can: it hashes the bucket name "key", then for each revision in order etcd's revision key
// (8-byte main, '_', 8-byte sub, 't' for a tombstone) and the protobuf mvccpb.KeyValue;
// revisions at or below the compact revision count only while they are still the newest
// revision of their key at the hashed revision — except that etcd skips that filter when its
// whole keep set is empty (no key is live at the hashed revision), and so do we.

import { crc32cUpdate } from '../storage/crc32c.js';
import { decodeRecord, isTombstoneRecord } from './codec.js';
import { CompactedError, FutureRevisionError } from './errors.js';
import {
  historyKey,
  historyPrefix,
  REVISION_KEY_BYTES,
  readUint64,
  revisionKey,
  writeUint64,
} from './keys.js';
import type { MetaState, Tables } from './tables.js';
import type { KeyValue } from './types.js';

const BUCKET_NAME = Buffer.from('key');

export interface HashResult {
  readonly hash: number;
  readonly compactRevision: number;
  readonly currentRevision: number;
}

/**
 * @param liveKeysAt how many keys exist at a revision (etcd's kvindex.Keep(rev) is empty exactly
 *   when none does).
 */
export function hashKV(
  tables: Tables,
  meta: MetaState,
  requested: number,
  liveKeysAt: (revision: number) => number,
): HashResult {
  if (requested > 0 && requested <= meta.compactRevision) throw new CompactedError();
  if (requested > 0 && requested > meta.currentRevision) throw new FutureRevisionError();
  const revision = requested === 0 ? meta.currentRevision : requested;
  let hash = crc32cUpdate(0, BUCKET_NAME);
  if (revision < 0)
    return { hash, compactRevision: meta.compactRevision, currentRevision: meta.currentRevision };
  const keepIsEmpty = liveKeysAt(revision) === 0;
  for (const { key, value } of tables.rev.getRange({
    start: Buffer.alloc(1),
    end: revisionKey(revision + 1, 0),
  })) {
    const main = readUint64(key, 0);
    const sub = readUint64(key, 8);
    const tombstone = isTombstoneRecord(value);
    const kv = decodeRecord(value);
    if (!keepIsEmpty && main <= meta.compactRevision && supersededAt(tables, kv.key, main, sub, revision))
      continue;
    hash = crc32cUpdate(hash, etcdRevisionKey(main, sub, tombstone));
    hash = crc32cUpdate(hash, encodeKeyValueProto(kv, tombstone));
  }
  return { hash, compactRevision: meta.compactRevision, currentRevision: meta.currentRevision };
}

/** True when `key` has a revision after (main, sub) and at or below `revision`. */
function supersededAt(tables: Tables, key: Uint8Array, main: number, sub: number, revision: number): boolean {
  const prefix = historyPrefix(key);
  const end = Buffer.alloc(prefix.length + REVISION_KEY_BYTES + 1, 0xff);
  end.set(prefix, 0);
  for (const entry of tables.hist.getRange({
    start: historyKey(prefix, main, sub),
    exclusiveStart: true,
    end,
    limit: 1,
  })) {
    return readUint64(entry.key, prefix.length) <= revision;
  }
  return false;
}

function etcdRevisionKey(main: number, sub: number, tombstone: boolean): Buffer {
  const out = Buffer.allocUnsafe(tombstone ? 18 : 17);
  writeUint64(out, main, 0);
  out[8] = 0x5f; // '_'
  writeUint64(out, sub, 9);
  if (tombstone) out[17] = 0x74; // 't'
  return out;
}

/** mvccpb.KeyValue as gogo-protobuf marshals it (zero fields omitted). A tombstone holds only the key. */
export function encodeKeyValueProto(kv: KeyValue, keyOnly: boolean): Buffer {
  const bytes: number[] = [];
  pushBytesField(bytes, 1, kv.key);
  if (!keyOnly) {
    pushVarintField(bytes, 2, BigInt(kv.createRevision));
    pushVarintField(bytes, 3, BigInt(kv.modRevision));
    pushVarintField(bytes, 4, BigInt(kv.version));
    pushBytesField(bytes, 5, kv.value);
    pushVarintField(bytes, 6, kv.lease);
  }
  return Buffer.from(bytes);
}

function pushVarint(bytes: number[], value: bigint): void {
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
}

function pushVarintField(bytes: number[], field: number, value: bigint): void {
  if (value === 0n) return;
  bytes.push(field << 3);
  pushVarint(bytes, value);
}

function pushBytesField(bytes: number[], field: number, value: Uint8Array): void {
  if (value.length === 0) return;
  bytes.push((field << 3) | 2);
  pushVarint(bytes, BigInt(value.length));
  for (let i = 0; i < value.length; i++) bytes.push(value[i]!);
}
