// Reads the few response fields the generator needs (a Txn's `succeeded`, a lease's ID, the values
// in a WatchResponse) straight from the protobuf bytes. Written by hand on purpose: the watch row
// decodes one message per watcher per put (a million for 1,000 watchers × 1,000 puts) on the one
// generator thread, and a full decode into objects would delay the last watcher's event by the
// generator's own cost. Field numbers are those of proto/rpc.proto and proto/kv.proto.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;
const VARINT_MAX_BYTES = 10;
/** Tags and lengths fit in 35 bits (5 varint bytes), exactly representable in a number. */
const SMALL_VARINT_SHIFT_LIMIT = 35;

const TXN_RESPONSE_SUCCEEDED = 2;
const LEASE_GRANT_RESPONSE_ID = 2;
const LEASE_GRANT_RESPONSE_ERROR = 4;
const LEASE_KEEP_ALIVE_RESPONSE_TTL = 3;
const WATCH_RESPONSE_CREATED = 3;
const WATCH_RESPONSE_CANCELED = 4;
const WATCH_RESPONSE_CANCEL_REASON = 6;
const WATCH_RESPONSE_EVENTS = 11;
const EVENT_KV = 2;
const KEY_VALUE_VALUE = 5;

/** A cursor over one protobuf message: `next()` reads a tag, then one read or skip of its value. */
class ProtoCursor {
  field = 0;
  wireType = 0;
  private position: number;

  constructor(
    private readonly buffer: Buffer,
    start = 0,
    private readonly end = buffer.length,
  ) {
    this.position = start;
  }

  next(): boolean {
    if (this.position >= this.end) return false;
    const tag = this.smallVarint();
    this.field = tag >>> 3;
    this.wireType = tag & 7;
    return true;
  }

  /** A varint as bigint: 64-bit ids must not pass through a lossy number (STYLE.md). */
  varint(): bigint {
    let result = 0n;
    for (let i = 0; i < VARINT_MAX_BYTES; i++) {
      if (this.position >= this.end) throw new Error('truncated protobuf varint');
      const byte = this.buffer[this.position++]!;
      result |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('protobuf varint longer than 10 bytes');
  }

  /** A varint known to be small (a tag or a length): plain number arithmetic, no bigint. */
  smallVarint(): number {
    let result = 0;
    for (let shift = 0; shift < SMALL_VARINT_SHIFT_LIMIT; shift += 7) {
      if (this.position >= this.end) throw new Error('truncated protobuf varint');
      const byte = this.buffer[this.position++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('protobuf tag or length too large');
  }

  /** Start and end offsets of a length-delimited value. */
  bytes(): [number, number] {
    const length = this.smallVarint();
    const start = this.position;
    this.position += length;
    if (this.position > this.end) throw new Error('truncated protobuf field');
    return [start, this.position];
  }

  private skipVarint(): void {
    for (let i = 0; i < VARINT_MAX_BYTES; i++) {
      if (this.position >= this.end) throw new Error('truncated protobuf varint');
      if ((this.buffer[this.position++]! & 0x80) === 0) return;
    }
    throw new Error('protobuf varint longer than 10 bytes');
  }

  skip(): void {
    if (this.wireType === WIRE_VARINT) this.skipVarint();
    else if (this.wireType === WIRE_LENGTH_DELIMITED) this.bytes();
    else if (this.wireType === WIRE_FIXED64) this.position += 8;
    else if (this.wireType === WIRE_FIXED32) this.position += 4;
    else throw new Error(`unsupported protobuf wire type ${this.wireType}`);
  }
}

export function txnSucceeded(response: Buffer): boolean {
  const cursor = new ProtoCursor(response);
  while (cursor.next()) {
    if (cursor.field === TXN_RESPONSE_SUCCEEDED && cursor.wireType === WIRE_VARINT)
      return cursor.varint() !== 0n;
    cursor.skip();
  }
  return false; // proto3 leaves false fields out
}

/** The granted lease's ID, or an error text when the server put one in the response. */
export function leaseGrantId(response: Buffer): { id: bigint } | { error: string } {
  const cursor = new ProtoCursor(response);
  let id = 0n;
  while (cursor.next()) {
    if (cursor.field === LEASE_GRANT_RESPONSE_ID && cursor.wireType === WIRE_VARINT) id = cursor.varint();
    else if (cursor.field === LEASE_GRANT_RESPONSE_ERROR && cursor.wireType === WIRE_LENGTH_DELIMITED) {
      const [start, end] = cursor.bytes();
      if (end > start) return { error: response.toString('utf8', start, end) };
    } else cursor.skip();
  }
  return id === 0n ? { error: 'LeaseGrant answered without an ID' } : { id };
}

/** The TTL a keepalive answer grants, in seconds; 0 (left out) or less means the lease is gone. */
export function keepAliveTtlSeconds(response: Buffer): bigint {
  const cursor = new ProtoCursor(response);
  while (cursor.next()) {
    if (cursor.field === LEASE_KEEP_ALIVE_RESPONSE_TTL && cursor.wireType === WIRE_VARINT) {
      return BigInt.asIntN(64, cursor.varint()); // int64: negative values arrive as 10-byte varints
    }
    cursor.skip();
  }
  return 0n;
}

export interface WatchResponseSummary {
  created: boolean;
  canceled: boolean;
  cancelReason: string;
  /** The value of each event's kv, as text. */
  values: string[];
}

export function scanWatchResponse(response: Buffer): WatchResponseSummary {
  const summary: WatchResponseSummary = { created: false, canceled: false, cancelReason: '', values: [] };
  const cursor = new ProtoCursor(response);
  while (cursor.next()) {
    if (cursor.field === WATCH_RESPONSE_CREATED && cursor.wireType === WIRE_VARINT) {
      summary.created = cursor.varint() !== 0n;
    } else if (cursor.field === WATCH_RESPONSE_CANCELED && cursor.wireType === WIRE_VARINT) {
      summary.canceled = cursor.varint() !== 0n;
    } else if (cursor.field === WATCH_RESPONSE_CANCEL_REASON && cursor.wireType === WIRE_LENGTH_DELIMITED) {
      const [start, end] = cursor.bytes();
      summary.cancelReason = response.toString('utf8', start, end);
    } else if (cursor.field === WATCH_RESPONSE_EVENTS && cursor.wireType === WIRE_LENGTH_DELIMITED) {
      const [start, end] = cursor.bytes();
      summary.values.push(eventValue(response, start, end));
    } else cursor.skip();
  }
  return summary;
}

function eventValue(buffer: Buffer, start: number, end: number): string {
  const event = new ProtoCursor(buffer, start, end);
  while (event.next()) {
    if (event.field === EVENT_KV && event.wireType === WIRE_LENGTH_DELIMITED) {
      const [kvStart, kvEnd] = event.bytes();
      const kv = new ProtoCursor(buffer, kvStart, kvEnd);
      while (kv.next()) {
        if (kv.field === KEY_VALUE_VALUE && kv.wireType === WIRE_LENGTH_DELIMITED) {
          const [valueStart, valueEnd] = kv.bytes();
          return buffer.toString('latin1', valueStart, valueEnd);
        }
        kv.skip();
      }
      return '';
    }
    event.skip();
  }
  return '';
}
