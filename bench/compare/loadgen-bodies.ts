// Request bodies for each kind of unary load, encoded once before the timed run: one body per key
// for puts, gets and compare-and-set (a random key is then a random index), one body for a prefix
// range or a lease grant. Preloading batches are encoded on demand instead: a million keys would
// otherwise hold ~280 MB of bodies in the generator, and preloading is not timed per request.

import { encodeRequest, fixedValue, methodPath, prefixRangeEnd } from './grpc-codec.js';
import { type KeySpace, keyName, type RequestSpec } from './loadgen-jobs.js';
import { leaseGrantId, txnSucceeded } from './proto-scan.js';

/** etcd's Compare.CompareResult.EQUAL and Compare.CompareTarget.VALUE. */
const COMPARE_EQUAL = 0;
const COMPARE_TARGET_VALUE = 3;

/** Inspects a successful response body; returns an error message when it is not what was asked. */
export type ResponseCheck = (protobuf: Buffer) => string | null;

export interface EncodedLoad {
  readonly path: string;
  readonly count: number;
  /** Body `index` of `count`: pre-encoded for timed loads, encoded on demand for preloading. */
  readonly body: (index: number) => Buffer;
  /** Runs on every successful response; null when grpc-status 0 is all that matters. */
  readonly check: ResponseCheck | null;
}

function preEncoded(path: string, bodies: readonly Buffer[], check: ResponseCheck | null): EncodedLoad {
  return { path, count: bodies.length, body: (index) => bodies[index]!, check };
}

function keyBuffers(keys: KeySpace): Buffer[] {
  return Array.from({ length: keys.count }, (_, i) => Buffer.from(keyName(keys, keys.first + i), 'latin1'));
}

const expectTxnSucceeded: ResponseCheck = (protobuf) =>
  txnSucceeded(protobuf) ? null : 'Txn compare failed (succeeded = false)';

export function encodeLoad(spec: RequestSpec, onLeaseGranted?: (id: bigint) => void): EncodedLoad {
  switch (spec.op) {
    case 'put': {
      const value = fixedValue(spec.valueBytes);
      const bodies = keyBuffers(spec.keys).map((key) => encodeRequest('KV', 'Put', { key, value }));
      return preEncoded(methodPath('KV', 'Put'), bodies, null);
    }
    case 'get': {
      const serializable = spec.serializable;
      const bodies = keyBuffers(spec.keys).map((key) => encodeRequest('KV', 'Range', { key, serializable }));
      return preEncoded(methodPath('KV', 'Range'), bodies, null);
    }
    case 'range-prefix': {
      const request = { key: Buffer.from(spec.prefix, 'utf8'), range_end: prefixRangeEnd(spec.prefix) };
      return preEncoded(methodPath('KV', 'Range'), [encodeRequest('KV', 'Range', request)], null);
    }
    case 'txn-cas': {
      const value = fixedValue(spec.valueBytes);
      const bodies = keyBuffers(spec.keys).map((key) =>
        encodeRequest('KV', 'Txn', {
          compare: [{ result: COMPARE_EQUAL, target: COMPARE_TARGET_VALUE, key, value }],
          success: [{ request_put: { key, value } }],
        }),
      );
      return preEncoded(methodPath('KV', 'Txn'), bodies, expectTxnSucceeded);
    }
    case 'lease-grant':
      return preEncoded(
        methodPath('Lease', 'LeaseGrant'),
        [encodeRequest('Lease', 'LeaseGrant', { TTL: spec.ttlSeconds, ID: 0 })],
        (protobuf) => {
          const granted = leaseGrantId(protobuf);
          if ('error' in granted) return `LeaseGrant: ${granted.error}`;
          onLeaseGranted?.(granted.id);
          return null;
        },
      );
    case 'txn-load':
      return loadBatches(spec);
  }
}

function loadBatches(spec: RequestSpec & { op: 'txn-load' }): EncodedLoad {
  const value = fixedValue(spec.valueBytes);
  const { keys, putsPerTxn } = spec;
  return {
    path: methodPath('KV', 'Txn'),
    count: Math.ceil(keys.count / putsPerTxn),
    body: (index) => {
      const offset = index * putsPerTxn;
      const batch = Math.min(putsPerTxn, keys.count - offset);
      const success = Array.from({ length: batch }, (_, i) => ({
        request_put: { key: Buffer.from(keyName(keys, keys.first + offset + i), 'latin1'), value },
      }));
      return encodeRequest('KV', 'Txn', { compare: [], success });
    },
    check: expectTxnSucceeded,
  };
}

/** LeaseRevoke bodies for leases granted during a run (they would otherwise expire mid-benchmark). */
export function leaseRevokeBodies(ids: readonly bigint[]): EncodedLoad {
  const bodies = ids.map((id) => encodeRequest('Lease', 'LeaseRevoke', { ID: id.toString() }));
  return preEncoded(methodPath('Lease', 'LeaseRevoke'), bodies, null);
}
