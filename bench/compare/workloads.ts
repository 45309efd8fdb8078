// The rows of the comparison: what each one sends, over how many connections, to which members,
// with how many requests in flight. Every row is built the same way for Flotilla and for etcd.

import type { KeySpace, LoadJob, Target } from './loadgen-jobs.js';
import type { CompareOptions } from './options.js';

export interface RowContext {
  /** Client address of the member that leads now. */
  readonly leader: string;
  /** Client addresses of every running member. */
  readonly members: readonly string[];
  readonly options: CompareOptions;
}

export interface RowSpec {
  readonly id: string;
  readonly title: string;
  /** What one operation of the row is (the unit of ops/s and of CPU per 10k ops). */
  readonly unit: 'requests' | 'keepalives' | 'events';
  readonly job: (context: RowContext) => LoadJob;
}

const MAIN_KEY_DIGITS = 7;
const RANGE_KEY_DIGITS = 8;

/** The random key space: `k0000000`, `k0000001`, ... */
export function mainKeys(options: CompareOptions): KeySpace {
  return { prefix: 'k', digits: MAIN_KEY_DIGITS, first: 0, count: options.keys };
}

/** The keys the range row reads in one request, under their own prefix. */
export const RANGE_PREFIX = 'r/';
export function rangeKeys(options: CompareOptions): KeySpace {
  return { prefix: RANGE_PREFIX, digits: RANGE_KEY_DIGITS, first: 0, count: options.rangeKeys };
}

const WATCH_PREFIX = 'w/';
const LEASE_TTL_SECONDS = 60;
const SEQUENTIAL_IN_FLIGHT = 1;
const SEQUENTIAL_CONNECTIONS = 1;
const CONCURRENT_IN_FLIGHT = 64;
const CONCURRENT_CONNECTIONS = 4;
const HIGH_IN_FLIGHT = 256;
const HIGH_CONNECTIONS = 16;
const RANGE_IN_FLIGHT = 4;
const RANGE_CONNECTIONS_PER_MEMBER = 1;
/** Per member, for reads spread over the cluster (6 connections in all, as in ANCHORS.md). */
const READ_CONNECTIONS_PER_MEMBER = 2;
/** Go's HTTP/2 server allows 250 concurrent streams per connection; stay well below. */
const WATCH_STREAMS_PER_CONNECTION = 125;
/** In-flight requests per connection in the pipeline sweep, up to PIPELINE_CONNECTIONS_MAX. */
const PIPELINE_IN_FLIGHT_PER_CONNECTION = 16;
const PIPELINE_CONNECTIONS_MAX = 16;
export const PIPELINE_DEPTHS = [1, 4, 16, 64, 256, 1024] as const;

function atLeader(context: RowContext, connections: number): Target[] {
  return [{ address: context.leader, connections }];
}

function everyMember(context: RowContext, connectionsPerMember: number): Target[] {
  return context.members.map((address) => ({ address, connections: connectionsPerMember }));
}

function timing(context: RowContext): { warmupMs: number; measureMs: number } {
  return { warmupMs: context.options.warmupMs, measureMs: context.options.measureMs };
}

function putRow(id: string, title: string, connections: number, inFlight: number): RowSpec {
  return {
    id,
    title,
    unit: 'requests',
    job: (context) => ({
      kind: 'unary',
      request: { op: 'put', keys: mainKeys(context.options), valueBytes: context.options.valueBytes },
      targets: atLeader(context, connections),
      inFlight,
      ...timing(context),
    }),
  };
}

function getRow(id: string, title: string, serializable: boolean): RowSpec {
  return {
    id,
    title,
    unit: 'requests',
    job: (context) => ({
      kind: 'unary',
      request: { op: 'get', keys: mainKeys(context.options), serializable },
      targets: everyMember(context, READ_CONNECTIONS_PER_MEMBER),
      inFlight: CONCURRENT_IN_FLIGHT,
      ...timing(context),
    }),
  };
}

export function mainRows(options: CompareOptions): RowSpec[] {
  return [
    putRow('put-1', 'put, 1 in flight, leader', SEQUENTIAL_CONNECTIONS, SEQUENTIAL_IN_FLIGHT),
    putRow(
      'put-64',
      `put, ${CONCURRENT_IN_FLIGHT} in flight, leader`,
      CONCURRENT_CONNECTIONS,
      CONCURRENT_IN_FLIGHT,
    ),
    putRow('put-256', `put, ${HIGH_IN_FLIGHT} in flight, leader`, HIGH_CONNECTIONS, HIGH_IN_FLIGHT),
    getRow('get-linearizable', `linearizable get, ${CONCURRENT_IN_FLIGHT} in flight, all members`, false),
    getRow('get-serializable', `serializable get, ${CONCURRENT_IN_FLIGHT} in flight, all members`, true),
    {
      id: 'txn-cas',
      title: `compare-and-set txn, ${CONCURRENT_IN_FLIGHT} in flight, leader`,
      unit: 'requests',
      job: (context) => ({
        kind: 'unary',
        request: { op: 'txn-cas', keys: mainKeys(context.options), valueBytes: context.options.valueBytes },
        targets: atLeader(context, CONCURRENT_CONNECTIONS),
        inFlight: CONCURRENT_IN_FLIGHT,
        ...timing(context),
      }),
    },
    {
      id: 'range',
      title: `range of ${options.rangeKeys.toLocaleString('en-US')} keys, ${RANGE_IN_FLIGHT} in flight, all members`,
      unit: 'requests',
      job: (context) => ({
        kind: 'unary',
        request: { op: 'range-prefix', prefix: RANGE_PREFIX },
        targets: everyMember(context, RANGE_CONNECTIONS_PER_MEMBER),
        inFlight: RANGE_IN_FLIGHT,
        ...timing(context),
      }),
    },
    {
      id: 'lease-grant',
      title: `lease grant (TTL ${LEASE_TTL_SECONDS} s), ${CONCURRENT_IN_FLIGHT} in flight, leader`,
      unit: 'requests',
      job: (context) => ({
        kind: 'unary',
        request: { op: 'lease-grant', ttlSeconds: LEASE_TTL_SECONDS },
        targets: atLeader(context, CONCURRENT_CONNECTIONS),
        inFlight: CONCURRENT_IN_FLIGHT,
        ...timing(context),
      }),
    },
    {
      id: 'lease-keepalive',
      title: `lease keepalive, ${CONCURRENT_CONNECTIONS} streams, ${CONCURRENT_IN_FLIGHT} in flight, leader`,
      unit: 'keepalives',
      job: (context) => ({
        kind: 'keepalive',
        target: { address: context.leader, connections: CONCURRENT_CONNECTIONS },
        inFlight: CONCURRENT_IN_FLIGHT,
        leases: CONCURRENT_IN_FLIGHT,
        ttlSeconds: LEASE_TTL_SECONDS,
        ...timing(context),
      }),
    },
    {
      id: 'watch-fanout',
      title: `watch fan-out, ${options.watchers.toLocaleString('en-US')} watchers, puts one at a time`,
      unit: 'events',
      job: (context) => ({
        kind: 'watch',
        putAddress: context.leader,
        watchTargets: everyMember(
          context,
          Math.ceil(context.options.watchers / WATCH_STREAMS_PER_CONNECTION / context.members.length),
        ),
        watchers: context.options.watchers,
        prefix: WATCH_PREFIX,
        putsMax: context.options.watchPutsMax,
        ...timing(context),
      }),
    },
  ];
}

/** Extra section (a): puts at the leader at increasing pipeline depth. */
export function pipelineRows(): RowSpec[] {
  return PIPELINE_DEPTHS.map((depth) => {
    const connections = Math.min(
      PIPELINE_CONNECTIONS_MAX,
      Math.max(1, Math.floor(depth / PIPELINE_IN_FLIGHT_PER_CONNECTION)),
    );
    return putRow(
      `pipeline-${depth}`,
      `put, ${depth} in flight (${connections} conn), leader`,
      connections,
      depth,
    );
  });
}
