// Splitting one large WatchResponse into fragments (etcd v3rpc sendFragments), and the
// protobuf encoded size it is measured by. The size is computed, not encoded: proto3 omits
// zero scalars, empty bytes/strings and false bools; every field here has a 1-byte tag
// (field numbers < 16).

import type { EventMessage, KeyValueMessage, WatchResponseMessage } from './messages.js';

function varintSize(value: bigint): number {
  // Negative int64 values are encoded as 10-byte two's complement varints.
  if (value < 0n) return 10;
  let size = 1;
  let rest = value >> 7n;
  while (rest > 0n) {
    size++;
    rest >>= 7n;
  }
  return size;
}

function intField(decimal: string): number {
  const value = BigInt(decimal);
  return value === 0n ? 0 : 1 + varintSize(value);
}

function lengthDelimited(length: number): number {
  return 1 + varintSize(BigInt(length)) + length;
}

function bytesField(bytes: Uint8Array): number {
  return bytes.length === 0 ? 0 : lengthDelimited(bytes.length);
}

function keyValueSize(kv: KeyValueMessage): number {
  return (
    bytesField(kv.key) +
    intField(kv.create_revision) +
    intField(kv.mod_revision) +
    intField(kv.version) +
    bytesField(kv.value) +
    intField(kv.lease)
  );
}

/** The bytes one event adds to a WatchResponse (field 11, repeated). */
export function eventFieldSize(event: EventMessage): number {
  let size = event.type === 0 ? 0 : 2;
  size += lengthDelimited(keyValueSize(event.kv));
  if (event.prev_kv !== null) size += lengthDelimited(keyValueSize(event.prev_kv));
  return lengthDelimited(size);
}

/** The encoded size of the response without its events. */
function envelopeSize(r: WatchResponseMessage): number {
  const header =
    intField(r.header.cluster_id) +
    intField(r.header.member_id) +
    intField(r.header.revision) +
    intField(r.header.raft_term);
  return (
    lengthDelimited(header) +
    intField(r.watch_id) +
    (r.created ? 2 : 0) +
    (r.canceled ? 2 : 0) +
    intField(r.compact_revision) +
    (r.cancel_reason.length === 0 ? 0 : lengthDelimited(Buffer.byteLength(r.cancel_reason))) +
    (r.fragment ? 2 : 0)
  );
}

export function watchResponseSize(r: WatchResponseMessage): number {
  let size = envelopeSize(r);
  for (const event of r.events) size += eventFieldSize(event);
  return size;
}

/**
 * etcd's sendFragments: a response below maxRequestBytes, or with fewer than two events, goes
 * whole. Otherwise events are packed greedily into responses below the limit (a single event
 * larger than the limit still goes, alone); every fragment but the last has `fragment: true`.
 */
export function fragmentResponse(r: WatchResponseMessage, maxRequestBytes: number): WatchResponseMessage[] {
  if (r.events.length < 2 || watchResponseSize(r) < maxRequestBytes) return [r];
  const base = envelopeSize({ ...r, events: [], fragment: true });
  const fragments: WatchResponseMessage[] = [];
  let current: EventMessage[] = [];
  let currentSize = base;
  for (const event of r.events) {
    const size = eventFieldSize(event);
    if (current.length >= 1 && currentSize + size >= maxRequestBytes) {
      fragments.push({ ...r, events: current, fragment: true });
      current = [];
      currentSize = base;
    }
    current.push(event);
    currentSize += size;
  }
  fragments.push({ ...r, events: current, fragment: false });
  return fragments;
}
