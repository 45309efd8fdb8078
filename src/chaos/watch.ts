// The watch workload: writer clients put and delete keys under `w/` (sometimes two puts in one
// Txn, so one revision holds two events); watcher clients follow the prefix on a Watch stream,
// and every few seconds — or when a fault breaks the stream — resume from the revision after the
// last event they saw, on a member chosen at random. After convergence one fresh watcher reads
// the whole history of `w/` (the ground truth); every watcher must have seen exactly the ground
// truth's events between its first and last, in order, across all its resumptions.

import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { CallResult, LabClient, ProtoObject } from './client.js';
import { text } from './register.js';
import type { CheckerVerdict, RecordedOperation } from './report.js';
import type { CheckContext, Outcome, StepContext, Workload } from './workload.js';

export const WATCH_PREFIX = 'w/';
/** The prefix's range end: '/' + 1. */
const WATCH_PREFIX_END = 'w0';
const WATCH_KEYS = 5;
/** Bound on waiting for a stream's created response. */
const OPEN_TIMEOUT_MS = 2_000;
/** Bound on one watcher step's wait for events. */
const WAIT_MS = 1_000;
/** A session is resumed elsewhere after this long even if nothing broke it. */
const SESSION_MIN_MS = 2_000;
const SESSION_JITTER_MS = 3_000;
/** Written last by the checker: once the ground-truth watcher sees it, it has seen everything. */
const SENTINEL_KEY = `${WATCH_PREFIX}~end`;
const FINAL_ATTEMPTS = 10;
const FINAL_RETRY_MS = 500;
/** Bound on reading the ground truth once the sentinel is written. */
const GROUND_TRUTH_TIMEOUT_MS = 20_000;

type WatchCall = ClientDuplexStream<ProtoObject, ProtoObject>;

/** One Watch stream of a watcher, from its create request until it is abandoned. */
class WatchSession {
  createdRevision: string | null = null;
  /** Why the stream ended (error, cancel, end), or null while it delivers. */
  ended: string | null = null;
  compactRevision: string | null = null;
  /** Events received and not yet recorded, in arrival order. */
  readonly pending: WatchEvent[] = [];
  /** Set when the workload abandons the stream: nothing it delivers afterwards counts. */
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly number: number,
    private readonly call: WatchCall,
    readonly openedMs: number,
    readonly lifetimeMs: number,
  ) {
    call.on('data', (response: ProtoObject) => this.receive(response));
    // Always listened to: a cancelled stream reports CANCELLED as an error after we close it.
    call.on('error', (error: ServiceError) => this.end(`error: ${error.details || error.message}`));
    call.on('end', () => this.end('ended by the server'));
  }

  private receive(response: ProtoObject): void {
    if (this.closed) return;
    if (response.created === true) this.createdRevision = revisionOf(response);
    if (response.canceled === true) {
      const compact = String(response.compact_revision ?? '0');
      if (compact !== '0') this.compactRevision = compact;
      this.end(`canceled: ${String(response.cancel_reason ?? '') || `compacted at ${compact}`}`);
      return;
    }
    for (const event of (response.events as ProtoObject[] | undefined) ?? [])
      this.pending.push(parseEvent(event));
    this.notify();
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.ended ??= reason;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Resolves when `ready()` holds or after `timeoutMs`. */
  async waitFor(ready: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready() && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Abandons the stream; returns the events received before, not yet taken. */
  close(): WatchEvent[] {
    this.closed = true;
    this.notify();
    this.call.cancel();
    return this.pending.splice(0);
  }
}

function revisionOf(response: ProtoObject): string {
  return String((response.header as ProtoObject | undefined)?.revision ?? '0');
}

function parseEvent(event: ProtoObject): WatchEvent {
  const kv = (event.kv as ProtoObject | undefined) ?? {};
  return {
    // mvccpb.Event.EventType: PUT = 0 (absent on the wire), DELETE = 1.
    type: event.type === 1 ? 'delete' : 'put',
    key: text(kv.key) ?? '',
    revision: String(kv.mod_revision ?? '0'),
    value: event.type === 1 ? '' : (text(kv.value) ?? ''),
  };
}

function openSession(
  connection: LabClient,
  number: number,
  from: bigint | null,
  nowMs: number,
  lifetimeMs: number,
) {
  const call = connection.watch();
  const session = new WatchSession(number, call, nowMs, lifetimeMs);
  call.write({
    create_request: {
      key: Buffer.from(WATCH_PREFIX),
      range_end: Buffer.from(WATCH_PREFIX_END),
      ...(from === null ? {} : { start_revision: from.toString() }),
    },
  });
  return session;
}

interface WatcherState {
  session: WatchSession | null;
  sessions: number;
  /** Where the next session starts: after the last event seen; null before the first session. */
  resumeFrom: bigint | null;
}

type Role = 'writer' | 'watcher';

export class WatchWorkload implements Workload {
  readonly name = 'watch';
  readonly description =
    'puts and deletes under w/, watchers that resume from their last revision on any member: no event lost, doubled or reordered';
  /** Roles by order of first step, alternating, so both exist whenever there are two clients. */
  private readonly roles = new Map<number, Role>();
  private readonly watchers = new Map<number, WatcherState>();
  /** One connection per member (the first client's there), for resuming on another member. */
  private readonly connections = new Map<string, LabClient>();

  async step(context: StepContext): Promise<Outcome> {
    let role = this.roles.get(context.client);
    if (role === undefined) {
      role = this.roles.size % 2 === 0 ? 'writer' : 'watcher';
      this.roles.set(context.client, role);
    }
    if (!this.connections.has(context.member.name))
      this.connections.set(context.member.name, context.connection);
    // Every client takes its first step before any takes its second, so a lone client knows it
    // is alone by then: it plays both roles, alternately.
    const alone = this.roles.size === 1;
    return role === 'writer' && !(alone && context.n % 2 === 1) ? this.write(context) : this.watch(context);
  }

  private async write(context: StepContext): Promise<Outcome> {
    const key = (k: number) => `${WATCH_PREFIX}${k}`;
    const value = `${context.client}-${context.n}`;
    const roll = context.random(10);
    const first = context.random(WATCH_KEYS);
    const callMs = context.now();
    if (roll < 6) {
      const result = await context.connection.put({
        key: Buffer.from(key(first)),
        value: Buffer.from(value),
      });
      return this.recordWrite(context, callMs, { type: 'put', key: key(first), value }, result);
    }
    if (roll < 8) {
      const result = await context.connection.deleteRange({ key: Buffer.from(key(first)) });
      return this.recordWrite(context, callMs, { type: 'delete', key: key(first) }, result);
    }
    const second = (first + 1 + context.random(WATCH_KEYS - 1)) % WATCH_KEYS;
    const puts = [
      { key: key(first), value: `${value}a` },
      { key: key(second), value: `${value}b` },
    ];
    const result = await context.connection.txn({
      compare: [],
      success: puts.map((p) => ({ request_put: { key: Buffer.from(p.key), value: Buffer.from(p.value) } })),
      failure: [],
    });
    return this.recordWrite(context, callMs, { type: 'txn', puts }, result);
  }

  private recordWrite(context: StepContext, callMs: number, input: ProtoObject, result: CallResult): Outcome {
    context.record({
      key: typeof input.key === 'string' ? input.key : WATCH_PREFIX,
      input,
      output:
        result.kind === 'ok'
          ? { revision: revisionOf(result.response), deleted: String(result.response.deleted ?? '0') }
          : undefined,
      callMs,
      outcome: result.kind,
      error: result.kind === 'ok' ? undefined : result.error,
    });
    return result.kind;
  }

  private async watch(context: StepContext): Promise<Outcome> {
    let state = this.watchers.get(context.client);
    if (state === undefined) {
      state = { session: null, sessions: 0, resumeFrom: null };
      this.watchers.set(context.client, state);
    }
    const session = state.session;
    if (session === null) return this.open(context, state);
    await session.waitFor(
      () => session.pending.length > 0 || session.ended !== null,
      Math.max(0, Math.min(WAIT_MS, session.openedMs + session.lifetimeMs - context.now())),
    );
    const ending =
      session.ended ?? (context.now() >= session.openedMs + session.lifetimeMs ? 'resumed elsewhere' : null);
    const events = ending === null ? session.pending.splice(0) : session.close();
    if (ending !== null) state.session = null;
    if (events.length > 0) state.resumeFrom = BigInt(events[events.length - 1].revision) + 1n;
    if (events.length === 0 && ending === null) return 'ok';
    context.record({
      key: WATCH_PREFIX,
      input: { type: 'events', watcher: context.client, session: session.number },
      output: {
        events,
        ...(ending === null ? {} : { ended: ending }),
        ...(session.compactRevision === null ? {} : { compactRevision: session.compactRevision }),
      },
      callMs: context.now(),
      outcome: 'ok',
    });
    return 'ok';
  }

  /** Opens the next session: from where the last one stopped, on a member picked at random. */
  private async open(context: StepContext, state: WatcherState): Promise<Outcome> {
    const members = [...this.connections.entries()];
    const [member, connection] = members[context.random(members.length)];
    // The first session starts at revision 1 (replaying history) or at the current revision.
    const from = state.resumeFrom ?? (context.random(2) === 0 ? 1n : null);
    const number = ++state.sessions;
    const callMs = context.now();
    const lifetimeMs = SESSION_MIN_MS + context.random(SESSION_JITTER_MS);
    const session = openSession(connection, number, from, callMs, lifetimeMs);
    await session.waitFor(() => session.createdRevision !== null || session.ended !== null, OPEN_TIMEOUT_MS);
    const input = {
      type: 'watch',
      watcher: context.client,
      session: number,
      from: from?.toString() ?? null,
      member,
    };
    if (session.createdRevision === null || session.ended !== null) {
      session.close();
      const error = session.ended ?? `not created within ${OPEN_TIMEOUT_MS} ms`;
      // No watch, no events: nothing was observed, and a watch changes nothing.
      context.record({ key: WATCH_PREFIX, input, callMs, outcome: 'fail', error });
      return 'fail';
    }
    context.record({
      key: WATCH_PREFIX,
      input,
      output: { created: session.createdRevision },
      callMs,
      outcome: 'ok',
    });
    state.session = session;
    if (state.resumeFrom === null && from === null) state.resumeFrom = BigInt(session.createdRevision) + 1n;
    else state.resumeFrom ??= from;
    return 'ok';
  }

  async check(context: CheckContext): Promise<CheckerVerdict> {
    // Streams still open when the run stopped: what they delivered after their last step is dropped.
    for (const state of this.watchers.values()) {
      state.session?.close();
      state.session = null;
    }
    const truth = await readGroundTruth(context);
    if (typeof truth === 'string') return { workload: this.name, valid: 'unknown', summary: truth };
    return checkWatch(context.operations, truth.events, truth.finalState);
  }
}

/** The lab's factory (src/chaos/workloads.ts). */
export const createWatchWorkload = (): Workload => new WatchWorkload();

/**
 * Writes a sentinel, then reads `w/` from revision 1 with a fresh watcher until the sentinel
 * arrives, and the keys' state at the sentinel's revision. A string says why it could not.
 */
async function readGroundTruth(
  context: CheckContext,
): Promise<{ events: WatchEvent[]; finalState: Map<string, string> } | string> {
  let lastError = '';
  for (let attempt = 0; attempt < FINAL_ATTEMPTS; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, FINAL_RETRY_MS));
    const client = await context.connect();
    try {
      const result = await readGroundTruthOnce(client, `end-${attempt}`);
      if (typeof result !== 'string' || result.startsWith('ground truth unavailable')) return result;
      lastError = result;
    } finally {
      client.close();
    }
  }
  return `could not read the ground truth: ${lastError}`;
}

async function readGroundTruthOnce(
  client: LabClient,
  value: string,
): Promise<{ events: WatchEvent[]; finalState: Map<string, string> } | string> {
  const put = await client.put({ key: Buffer.from(SENTINEL_KEY), value: Buffer.from(value) });
  if (put.kind !== 'ok') return `sentinel put: ${put.error}`;
  const sentinel = BigInt(revisionOf(put.response));
  const range = await client.range({
    key: Buffer.from(WATCH_PREFIX),
    range_end: Buffer.from(WATCH_PREFIX_END),
    revision: sentinel.toString(),
  });
  if (range.kind !== 'ok') return `final range: ${range.error}`;
  const finalState = new Map<string, string>();
  for (const kv of (range.response.kvs as ProtoObject[] | undefined) ?? [])
    finalState.set(text(kv.key) ?? '', text(kv.value) ?? '');
  const session = openSession(client, 0, 1n, Date.now(), GROUND_TRUTH_TIMEOUT_MS);
  const events: WatchEvent[] = [];
  const isSentinel = (e: WatchEvent) => e.key === SENTINEL_KEY && e.value === value;
  let reached = false;
  const take = (batch: WatchEvent[]) => {
    reached ||= batch.some(isSentinel);
    events.push(...batch);
  };
  await session.waitFor(() => {
    take(session.pending.splice(0));
    return reached || session.ended !== null;
  }, GROUND_TRUTH_TIMEOUT_MS);
  take(session.close());
  if (session.compactRevision !== null)
    return `ground truth unavailable: history compacted at ${session.compactRevision}`;
  if (!reached)
    return `ground-truth watch did not reach revision ${sentinel}: ${session.ended ?? 'timed out'}`;
  return { events: events.filter((e) => BigInt(e.revision) <= sentinel), finalState };
}

// --- the checker ---------------------------------------------------------------------------------

/** One event as a watcher saw it (recorded in history.jsonl). */
export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** mod_revision, decimal. */
  readonly revision: string;
  /** Empty for a delete. */
  readonly value: string;
}

/** Problems quoted in a verdict's explanation; the history file has the rest. */
const MAX_EXPLAINED_PROBLEMS = 10;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asEvents(value: unknown): WatchEvent[] | null {
  if (!Array.isArray(value)) return null;
  const events: WatchEvent[] = [];
  for (const item of value) {
    if (
      !isObject(item) ||
      (item.type !== 'put' && item.type !== 'delete') ||
      typeof item.key !== 'string' ||
      typeof item.revision !== 'string' ||
      !/^\d+$/.test(item.revision) ||
      typeof item.value !== 'string'
    )
      return null;
    events.push({ type: item.type, key: item.key, revision: item.revision, value: item.value });
  }
  return events;
}

/** Within one revision each key has at most one event (etcd refuses a Txn touching a key twice). */
const identity = (event: { key: string; revision: string }): string => `${event.revision} ${event.key}`;
const show = (event: WatchEvent): string =>
  `${event.type} ${event.key}@${event.revision}${event.type === 'put' ? `=${event.value}` : ''}`;

interface Problem {
  readonly message: string;
  readonly operations: readonly number[];
}

interface WatcherHistory {
  start: bigint | null;
  /** The first session started at the current revision: its start is only known from its header. */
  startFromHeader: boolean;
  readonly observed: { event: WatchEvent; operation: number }[];
  sessions: number;
  compacted: string | null;
}

/**
 * The watch checker. `truth`: every event under the prefix from revision 1, in order, from a
 * converged member; `finalState`: the prefix's keys read at the truth's last revision.
 */
export function checkWatch(
  operations: readonly RecordedOperation[],
  truth: readonly WatchEvent[],
  finalState?: ReadonlyMap<string, string>,
): CheckerVerdict {
  const problems: Problem[] = [];
  const position = new Map<string, number>();
  truth.forEach((event, index) => {
    const previous = truth[index - 1];
    if (previous !== undefined && BigInt(previous.revision) > BigInt(event.revision))
      problems.push({
        message: `ground truth out of order: ${show(previous)} before ${show(event)}`,
        operations: [],
      });
    if (position.has(identity(event)))
      problems.push({ message: `ground truth repeats ${show(event)}`, operations: [] });
    position.set(identity(event), index);
  });
  if (finalState !== undefined) checkFinalState(truth, finalState, problems);
  const acknowledged = checkWrites(operations, truth, position, problems);
  const watchers = watcherHistories(operations);
  let compacted: string | null = null;
  let observedCount = 0;
  let sessions = 0;
  for (const [watcher, history] of watchers) {
    compacted ??= history.compacted;
    observedCount += history.observed.length;
    sessions += history.sessions;
    checkWatcher(watcher, history, truth, position, problems);
  }
  const counts = `${acknowledged} acknowledged writes in ${truth.length} events; ${watchers.size} watchers saw ${observedCount} events over ${sessions} sessions`;
  if (problems.length > 0) {
    return {
      workload: 'watch',
      valid: false,
      summary: `${counts}; ${problems.length} anomalies`,
      explanation: problems
        .slice(0, MAX_EXPLAINED_PROBLEMS)
        .map((p) => p.message)
        .join('; '),
      failingOperations: [...new Set(problems.flatMap((p) => p.operations))],
    };
  }
  if (compacted !== null)
    return {
      workload: 'watch',
      valid: 'unknown',
      summary: `${counts}; a watch was compacted at ${compacted}`,
    };
  return { workload: 'watch', valid: true, summary: `${counts}, none lost, doubled or out of order` };
}

/** Replaying the truth must give the state read at its end. */
function checkFinalState(
  truth: readonly WatchEvent[],
  finalState: ReadonlyMap<string, string>,
  problems: Problem[],
): void {
  const replayed = new Map<string, string>();
  for (const event of truth) {
    if (event.type === 'put') replayed.set(event.key, event.value);
    else replayed.delete(event.key);
  }
  for (const key of new Set([...replayed.keys(), ...finalState.keys()])) {
    if (replayed.get(key) !== finalState.get(key))
      problems.push({
        message: `${key} is ${finalState.get(key) ?? 'absent'} at the end, but the watch history leaves it ${replayed.get(key) ?? 'absent'}`,
        operations: [],
      });
  }
}

/** Acknowledged writes are in the truth at their revision; refused puts are not in it at all. */
function checkWrites(
  operations: readonly RecordedOperation[],
  truth: readonly WatchEvent[],
  position: ReadonlyMap<string, number>,
  problems: Problem[],
): number {
  const values = new Set(truth.filter((e) => e.type === 'put').map((e) => e.value));
  let acknowledged = 0;
  for (const operation of operations) {
    const input = operation.input;
    if (!isObject(input) || !['put', 'delete', 'txn'].includes(String(input.type))) continue;
    const puts: { key: string; value: string }[] =
      input.type === 'put'
        ? [{ key: String(input.key), value: String(input.value) }]
        : input.type === 'txn' && Array.isArray(input.puts)
          ? input.puts.filter(isObject).map((p) => ({ key: String(p.key), value: String(p.value) }))
          : [];
    if (operation.outcome === 'fail') {
      for (const put of puts)
        if (values.has(put.value))
          problems.push({
            message: `op ${operation.id}: refused put ${put.key}=${put.value} is in the history`,
            operations: [operation.id],
          });
      continue;
    }
    if (operation.outcome !== 'ok' || !isObject(operation.output)) continue;
    acknowledged++;
    const revision = String(operation.output.revision);
    const expected: WatchEvent[] =
      input.type === 'delete'
        ? operation.output.deleted === '0'
          ? []
          : [{ type: 'delete', key: String(input.key), revision, value: '' }]
        : puts.map((p) => ({ type: 'put', key: p.key, revision, value: p.value }));
    for (const event of expected) {
      const index = position.get(identity(event));
      const found = index === undefined ? undefined : truth[index];
      if (found === undefined || found.type !== event.type || found.value !== event.value)
        problems.push({
          message: `op ${operation.id}: acknowledged ${show(event)} is ${found === undefined ? 'missing from the history' : `${show(found)} in the history`}`,
          operations: [operation.id],
        });
    }
  }
  return acknowledged;
}

function watcherHistories(operations: readonly RecordedOperation[]): Map<number, WatcherHistory> {
  const watchers = new Map<number, WatcherHistory>();
  const sorted = [...operations].sort((a, b) => a.id - b.id);
  for (const operation of sorted) {
    const input = operation.input;
    if (!isObject(input) || (input.type !== 'watch' && input.type !== 'events') || operation.outcome !== 'ok')
      continue;
    const watcher = Number(input.watcher);
    let history = watchers.get(watcher);
    if (history === undefined) {
      history = { start: null, startFromHeader: false, observed: [], sessions: 0, compacted: null };
      watchers.set(watcher, history);
    }
    const output = isObject(operation.output) ? operation.output : {};
    if (input.type === 'watch') {
      history.sessions++;
      if (history.start === null) {
        history.startFromHeader = input.from === null;
        history.start =
          input.from === null ? BigInt(String(output.created)) + 1n : BigInt(String(input.from));
      }
      continue;
    }
    if (typeof output.compactRevision === 'string') history.compacted = output.compactRevision;
    const events = asEvents(output.events) ?? [];
    for (const event of events) history.observed.push({ event, operation: operation.id });
  }
  return watchers;
}

/**
 * A watcher's events, across its sessions, are exactly the truth's events from its start to its
 * last event: none duplicated, none out of order, none missing, none that did not happen.
 */
function checkWatcher(
  watcher: number,
  history: WatcherHistory,
  truth: readonly WatchEvent[],
  position: ReadonlyMap<string, number>,
  problems: Problem[],
): void {
  const seen = new Set<string>();
  let previousIndex = -1;
  let bad = false;
  const report = (message: string, operations: number[]) => {
    bad = true;
    problems.push({ message: `watcher ${watcher}: ${message}`, operations });
  };
  for (let i = 0; i < history.observed.length; i++) {
    const { event, operation } = history.observed[i];
    const id = identity(event);
    const index = position.get(id);
    const previous = history.observed[i - 1];
    const around = previous === undefined ? [operation] : [previous.operation, operation];
    if (seen.has(id)) report(`${show(event)} delivered twice (op ${operation})`, around);
    else if (index === undefined || truth[index].type !== event.type || truth[index].value !== event.value)
      report(`${show(event)} (op ${operation}) is not in the history`, around);
    else if (index < previousIndex)
      report(`${show(event)} (op ${operation}) delivered after ${show(truth[previousIndex])}`, around);
    seen.add(id);
    if (index !== undefined) previousIndex = Math.max(previousIndex, index);
  }
  const first = history.observed[0];
  const last = history.observed.at(-1);
  if (bad || first === undefined || last === undefined || history.start === null) return;
  // A watch from the current revision may, as in etcd, deliver events of the revision its header names.
  const firstRevision = BigInt(first.event.revision);
  const start = history.startFromHeader && firstRevision < history.start ? firstRevision : history.start;
  const lastRevision = BigInt(last.event.revision);
  if (firstRevision < start)
    report(`${show(first.event)} is before its start revision ${start}`, [first.operation]);
  const missing = truth.filter((event) => {
    const revision = BigInt(event.revision);
    return revision >= start && revision <= lastRevision && !seen.has(identity(event));
  });
  if (missing.length > 0) {
    const before = (event: WatchEvent) =>
      history.observed.find((o) => position.get(identity(o.event))! > position.get(identity(event))!);
    report(
      `missed ${missing.length} events between revisions ${start} and ${lastRevision}, first ${show(missing[0])}`,
      [before(missing[0])?.operation ?? last.operation],
    );
  }
}
