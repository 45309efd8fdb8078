// Runs one seeded gateway sequence against two servers in lockstep (each request goes to both
// before the next is made) and reports the first request whose normalized answers differ.
//
// Normalized away: header cluster_id, member_id and raft_term (two independent clusters); in
// Status the values that describe the server rather than the data (version, sizes, leader, raft
// indexes and term: only their presence is compared); member ids, names and URLs. LeaseTimeToLive
// keys are sorted (etcd walks a Go map) and its remaining TTL may differ by one second (each server
// rounds up at the moment it answers). Watches compare their control answers (created, canceled)
// line by line and their events concatenated: how events are batched is timing, not semantics.

import { type GatewayOp, GatewayOpGenerator } from './generator.js';
import { type Json, request, StreamReader } from './http-client.js';

/** Bound on waiting for a watch to be created and for its marker event. */
const WATCH_WAIT_MS = 3_000;
/** Bound on a keep-alive stream, which ends by itself after its last answer. */
const KEEP_ALIVE_WAIT_MS = 5_000;
const LEASE_TTL_TOLERANCE_S = 1;

const IGNORED_HEADER_FIELDS: ReadonlySet<string> = new Set(['cluster_id', 'member_id', 'raft_term']);
const SERVER_STATUS_FIELDS: readonly string[] = [
  'version',
  'dbSize',
  'dbSizeInUse',
  'leader',
  'raftIndex',
  'raftTerm',
  'raftAppliedIndex',
];
const MEMBER_FIELDS: readonly string[] = ['ID', 'name', 'peerURLs', 'clientURLs'];

export interface GatewayMismatch {
  readonly index: number;
  readonly message: string;
}

export interface GatewayRunResult {
  readonly steps: number;
  readonly mismatch?: GatewayMismatch;
}

type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops the header fields two clusters legitimately disagree on, everywhere in a value. */
export function withoutIdentity(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutIdentity);
  if (!isObject(value)) return value;
  const result: JsonObject = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'header' && isObject(field)) {
      result[key] = Object.fromEntries(
        Object.entries(field).filter(([name]) => !IGNORED_HEADER_FIELDS.has(name)),
      );
    } else {
      result[key] = withoutIdentity(field);
    }
  }
  return result;
}

function presenceOnly(object: JsonObject, fields: readonly string[]): JsonObject {
  const result = { ...object };
  for (const field of fields) if (field in result) result[field] = '<present>';
  return result;
}

function normalizeBody(path: string, body: Json): Json {
  const json = withoutIdentity(body);
  if (!isObject(json)) return json;
  if (path.endsWith('/maintenance/status')) return presenceOnly(json, SERVER_STATUS_FIELDS);
  if (path.endsWith('/cluster/member/list') && Array.isArray(json.members)) {
    return {
      ...json,
      members: json.members.map((member) => presenceOnly(member as JsonObject, MEMBER_FIELDS)),
    };
  }
  if (path.endsWith('/timetolive') && Array.isArray(json.keys)) {
    return { ...json, keys: [...json.keys].sort() };
  }
  return json;
}

function resultOf(line: Json): JsonObject | undefined {
  return isObject(line) && isObject(line.result) ? line.result : undefined;
}

const createdCount = (lines: Json[]) => lines.filter((line) => resultOf(line)?.created === true).length;
const anyCanceled = (lines: Json[]) => lines.some((line) => resultOf(line)?.canceled === true);
const anyError = (lines: Json[]) => lines.some((line) => isObject(line) && 'error' in line);

function eventAtOrAfter(lines: Json[], revision: number): boolean {
  return lines.some((line) => {
    const events = resultOf(line)?.events;
    if (!Array.isArray(events)) return false;
    return events.some(
      (event) => isObject(event) && isObject(event.kv) && Number(event.kv.mod_revision) >= revision,
    );
  });
}

async function executeWatch(baseUrl: string, op: Extract<GatewayOp, { kind: 'watch' }>): Promise<Json> {
  const reader = new StreamReader(baseUrl, '/v3/watch', op.body);
  // With one watcher, a cancel means it ended (compacted, bad range); with two, it is the op's own.
  const over = (lines: Json[]) => anyError(lines) || (op.watcherCount === 1 && anyCanceled(lines));
  try {
    // The marker goes in once every watcher is created (and the op's own cancel is done: etcd's
    // gateway passes messages after the first on asynchronously). A watcher cancelled by the
    // server (compacted start revision) gets the marker too: when that cancel arrives is timing.
    const ready = (lines: Json[]) =>
      createdCount(lines) >= op.watcherCount && (!op.cancels || anyCanceled(lines));
    await reader.waitFor((lines) => ready(lines) || anyError(lines), WATCH_WAIT_MS);
    let marker: Json = null;
    let end = 'no-marker';
    if (ready(reader.lines)) {
      const answer = await request(baseUrl, '/v3/kv/put', op.marker);
      marker = normalizeBody('/v3/kv/put', answer.body);
      const header = isObject(answer.body) && isObject(answer.body.header) ? answer.body.header : {};
      const revision = Number(header.revision ?? Number.POSITIVE_INFINITY);
      const seen = await reader.waitFor(
        (lines) => eventAtOrAfter(lines, revision) || over(lines),
        WATCH_WAIT_MS,
      );
      end =
        seen && eventAtOrAfter(reader.lines, revision)
          ? 'marker-seen'
          : over(reader.lines)
            ? 'over'
            : 'timeout';
    }
    return { status: reader.status, ...splitWatchLines(reader.lines), marker, end };
  } finally {
    reader.close();
  }
}

/** Control answers line by line (without event batching); events concatenated with their watch id. */
function splitWatchLines(lines: Json[]): { control: Json[]; events: Json[] } {
  const control: Json[] = [];
  const events: Json[] = [];
  for (const line of lines) {
    const answer = isObject(line) && isObject(line.result) ? line.result : undefined;
    if (answer === undefined || !Array.isArray(answer.events)) {
      control.push(withoutIdentity(line));
      continue;
    }
    for (const event of answer.events) events.push({ watch_id: answer.watch_id ?? '0', event });
  }
  return { control, events };
}

async function execute(baseUrl: string, op: GatewayOp): Promise<Json> {
  switch (op.kind) {
    case 'unary': {
      const answer = await request(baseUrl, op.path, op.body, op.method);
      return { status: answer.status, body: normalizeBody(op.path, answer.body) };
    }
    case 'stream': {
      const reader = new StreamReader(baseUrl, op.path, op.body);
      try {
        await reader.waitFor(() => reader.ended, KEEP_ALIVE_WAIT_MS);
        return { status: reader.status, lines: reader.lines.map(withoutIdentity), ended: reader.ended };
      } finally {
        reader.close();
      }
    }
    case 'watch':
      return executeWatch(baseUrl, op);
  }
}

/** The largest header.revision in an answer (the generator aims revisions at the reference's). */
function highestRevision(value: Json): number {
  if (Array.isArray(value))
    return value.reduce<number>((max, item) => Math.max(max, highestRevision(item)), 0);
  if (!isObject(value)) return 0;
  let max = 0;
  for (const [key, field] of Object.entries(value)) {
    if (key === 'header' && isObject(field)) max = Math.max(max, Number(field.revision ?? 0));
    else max = Math.max(max, highestRevision(field));
  }
  return max;
}

function firstDifference(
  a: Json | undefined,
  b: Json | undefined,
  path: string,
  op: GatewayOp,
): string | undefined {
  if (op.kind === 'unary' && op.path.endsWith('/timetolive') && path === '.body.TTL') {
    return Math.abs(Number(a) - Number(b)) <= LEASE_TTL_TOLERANCE_S ? undefined : path;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let index = 0; index < Math.max(a.length, b.length); index++) {
      const found = firstDifference(a[index], b[index], `${path}[${index}]`, op);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = firstDifference(a[key], b[key], `${path}.${key}`, op);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return a === b ? undefined : path || '(root)';
}

function describe(op: GatewayOp): string {
  const body = op.body.toString('latin1');
  return op.kind === 'watch'
    ? `POST /v3/watch ${body} (marker ${op.marker.toString('latin1')})`
    : `${op.kind === 'unary' ? (op.method ?? 'POST') : 'POST'} ${op.path} ${body}`;
}

/** Runs `opCount` requests of `seed` against A (the reference, real etcd) and B. */
export async function runGatewaySequence(
  seed: number,
  opCount: number,
  a: string,
  b: string,
): Promise<GatewayRunResult> {
  const generator = new GatewayOpGenerator(seed);
  let revision = 1; // a fresh etcd
  for (let index = 0; index < opCount; index++) {
    const op = generator.next({ revision });
    const [answerA, answerB] = await Promise.all([execute(a, op), execute(b, op)]);
    revision = Math.max(revision, highestRevision(answerA));
    const path = firstDifference(answerA, answerB, '', op);
    if (path !== undefined) {
      const message = [
        `seed ${seed}, request #${index}: answers differ at ${path}`,
        `request: ${describe(op)}`,
        `A (etcd): ${JSON.stringify(answerA)}`,
        `B:        ${JSON.stringify(answerB)}`,
        `reproduce: FLOTILLA_GATEWAY_DIFF_SEED=${seed} node --test dist/test/gateway/differential.test.js`,
      ].join('\n');
      return { steps: index + 1, mismatch: { index, message } };
    }
  }
  return { steps: opCount };
}
