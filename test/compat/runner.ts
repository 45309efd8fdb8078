// Runs one seeded sequence against two endpoints in lockstep and reports the first op whose normalized
// outcomes differ. Lockstep (each op goes to both before the next starts) keeps the two servers' clocks
// close, which matters only for lease TTLs, and makes "first mismatch" well defined.

import type { Endpoint, StartedEndpoint } from '../support/endpoints.js';
import type { Event, WatchResponse } from '../support/etcd-types.js';
import { EtcdClient, type RpcResult } from '../support/grpc-client.js';
import { type Op, OpGenerator } from './generator.js';
import { type Difference, firstDifference, type Json, normalize, normalizeOutcome } from './normalize.js';

/** How long a watch op waits for its marker event before recording a timeout. */
const WATCH_COLLECT_TIMEOUT_MS = 3_000;
/** Bound on responses read per watch op (catch-up may be split into several responses). */
const WATCH_RESPONSES_MAX = 1_000;

export interface StepRecord {
  readonly index: number;
  readonly op: Op;
  readonly a: Json;
  readonly b: Json;
}

export interface Mismatch extends StepRecord {
  readonly seed: number;
  readonly difference: Difference;
  readonly message: string;
}

export interface RunResult {
  readonly seed: number;
  readonly steps: StepRecord[];
  readonly mismatch?: Mismatch;
}

export interface RunOptions {
  readonly seed: number;
  readonly opCount: number;
  readonly a: { name: string; address: string };
  readonly b: { name: string; address: string };
}

/** Runs the sequence for `seed` against two already started, fresh endpoints. */
export async function runSequence(options: RunOptions): Promise<RunResult> {
  const clientA = new EtcdClient(options.a.address);
  const clientB = new EtcdClient(options.b.address);
  const generator = new OpGenerator(options.seed);
  const steps: StepRecord[] = [];
  // A fresh etcd is at revision 1.
  let revision = 1;
  try {
    for (let index = 0; index < options.opCount; index++) {
      const op = generator.next({ revision });
      const [rawA, rawB] = await Promise.all([execute(clientA, op), execute(clientB, op)]);
      const a = normalizeOutcome(op.kind, rawA);
      const b = normalizeOutcome(op.kind, rawB);
      const step = { index, op, a, b };
      steps.push(step);
      revision = Math.max(revision, highestRevision(a));
      const difference = firstDifference(op.kind, a, b);
      if (difference) {
        const message = describeMismatch(options, step, difference);
        return { seed: options.seed, steps, mismatch: { ...step, seed: options.seed, difference, message } };
      }
    }
    return { seed: options.seed, steps };
  } finally {
    clientA.close();
    clientB.close();
  }
}

/** Starts fresh A and B, runs the sequence, and always stops both. */
export async function runWithEndpoints(
  seed: number,
  opCount: number,
  endpointA: Endpoint,
  endpointB: Endpoint,
): Promise<RunResult> {
  const started = await Promise.allSettled([endpointA.start(), endpointB.start()]);
  const running = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  try {
    const [a, b] = started;
    if (a!.status === 'rejected') throw a!.reason;
    if (b!.status === 'rejected') throw b!.reason;
    return await runSequence({
      seed,
      opCount,
      a: { name: `A(${endpointA.name})`, address: (a!.value as StartedEndpoint).address },
      b: { name: `B(${endpointB.name})`, address: (b!.value as StartedEndpoint).address },
    });
  } finally {
    await Promise.all(running.map((endpoint) => endpoint.stop()));
  }
}

async function execute(client: EtcdClient, op: Op): Promise<unknown> {
  switch (op.kind) {
    case 'range':
      return client.range(op.request);
    case 'put':
      return client.put(op.request);
    case 'deleteRange':
      return client.deleteRange(op.request);
    case 'txn':
      return client.txn(op.request);
    case 'compact':
      return client.compact(op.request);
    case 'leaseGrant':
      return client.leaseGrant(op.request);
    case 'leaseRevoke':
      return client.leaseRevoke(op.request);
    case 'leaseTimeToLive':
      return client.leaseTimeToLive(op.request);
    case 'leaseLeases':
      return client.leaseLeases();
    case 'hashKV':
      return client.hashKV(op.request);
    case 'watch':
      return executeWatch(client, op);
  }
}

interface WatchOutcome {
  /** The first answer to the create request. */
  created: unknown;
  /** The marker Put's answer (omitted when the watch ended before it was sent). */
  marker?: RpcResult<unknown>;
  /** All events received, concatenated across responses (servers may batch differently). */
  events: Event[];
  /** How collection ended. */
  end:
    | { kind: 'marker-seen' }
    | { kind: 'canceled'; compact_revision: string; cancel_reason: string }
    | { kind: 'timeout' }
    | { kind: 'stream-ended' }
    | { kind: 'error'; code: number; details: string };
}

/**
 * Creates the watcher and compares what it reports up to and including the marker Put. Response
 * boundaries and the headers of event responses are not compared: how catch-up events are batched,
 * and whether a batch is sent before or after the marker is applied, is timing, not semantics.
 */
async function executeWatch(client: EtcdClient, op: Extract<Op, { kind: 'watch' }>): Promise<WatchOutcome> {
  const stream = client.watch();
  try {
    stream.send({ create_request: op.create });
    const first = await stream.next(WATCH_COLLECT_TIMEOUT_MS);
    if (!('response' in first)) {
      return { created: first, events: [], end: endOf(first) };
    }
    const outcome: WatchOutcome = {
      created: withoutEvents(first.response),
      events: [...first.response.events],
      end: { kind: 'timeout' },
    };
    if (first.response.canceled || !first.response.created) {
      outcome.end = canceledEnd(first.response);
      return outcome;
    }
    outcome.marker = await client.put(op.marker);
    const markerRevision =
      'response' in outcome.marker ? revisionOf(outcome.marker.response) : Number.POSITIVE_INFINITY;
    for (let count = 0; count < WATCH_RESPONSES_MAX; count++) {
      if (outcome.events.some((event) => Number(event.kv?.mod_revision ?? 0) >= markerRevision)) {
        outcome.end = { kind: 'marker-seen' };
        return outcome;
      }
      const next = await stream.next(WATCH_COLLECT_TIMEOUT_MS);
      if (!('response' in next)) {
        outcome.end = endOf(next);
        return outcome;
      }
      outcome.events.push(...next.response.events);
      if (next.response.canceled || next.response.compact_revision !== '0') {
        outcome.end = canceledEnd(next.response);
        return outcome;
      }
    }
    return outcome;
  } finally {
    stream.close();
  }
}

function withoutEvents(response: WatchResponse): Omit<WatchResponse, 'events'> {
  const { events: _events, ...rest } = response;
  return rest;
}

function canceledEnd(response: WatchResponse): WatchOutcome['end'] {
  return {
    kind: 'canceled',
    compact_revision: response.compact_revision,
    cancel_reason: response.cancel_reason,
  };
}

function endOf(
  next: { error: { code: number; details: string } } | { ended: true } | { timedOut: true },
): WatchOutcome['end'] {
  if ('error' in next) return { kind: 'error', ...next.error };
  if ('ended' in next) return { kind: 'stream-ended' };
  return { kind: 'timeout' };
}

function revisionOf(response: unknown): number {
  const header = (response as { header?: { revision?: string } | null }).header;
  return Number(header?.revision ?? Number.POSITIVE_INFINITY);
}

/** The largest header.revision anywhere in a normalized outcome (store revisions fit in a double). */
function highestRevision(value: Json): number {
  if (Array.isArray(value))
    return value.reduce<number>((max, item) => Math.max(max, highestRevision(item)), 0);
  if (value === null || typeof value !== 'object') return 0;
  let max = 0;
  for (const [field, fieldValue] of Object.entries(value)) {
    if (
      field === 'header' &&
      fieldValue !== null &&
      typeof fieldValue === 'object' &&
      !Array.isArray(fieldValue)
    ) {
      max = Math.max(max, Number(fieldValue.revision ?? 0));
    } else {
      max = Math.max(max, highestRevision(fieldValue));
    }
  }
  return max;
}

function describeMismatch(options: RunOptions, step: StepRecord, difference: Difference): string {
  const show = (value: Json | undefined): string =>
    value === undefined ? '(absent)' : JSON.stringify(value);
  return [
    `seed ${options.seed}, op #${step.index} (${step.op.kind}): answers differ at ${difference.path || '(root)'}`,
    `  ${options.a.name}: ${show(difference.a)}`,
    `  ${options.b.name}: ${show(difference.b)}`,
    `request: ${JSON.stringify(normalize(step.op))}`,
    `${options.a.name} answer: ${JSON.stringify(step.a, null, 2)}`,
    `${options.b.name} answer: ${JSON.stringify(step.b, null, 2)}`,
    `reproduce: FLOTILLA_DIFF_SEED=${options.seed} node --test dist/test/compat/differential.test.js`,
  ].join('\n');
}
