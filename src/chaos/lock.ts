// The lock workload: fenced writes behind the Lock service. A client takes a lease (kept alive
// in its steps), acquires `lk/name` with it, and uses its lock key's create revision as a
// fencing token (Kleppmann, "How to do distributed locking"): a write to `lk/guarded` is a Txn
// that succeeds only if the token on record is not newer than the writer's. Holders release,
// revoke their lease, or walk away and let it expire; sometimes a former holder writes again
// with its old token, as a paused process would. A lock can be held twice at once (a lease
// expired under a partition), but the fence must hold: the key's history, read back version
// by version after convergence, shows tokens that never decrease, and it matches what the
// clients were told.

import type { CallResult, LabClient, ProtoObject } from './client.js';
import type { CheckerVerdict } from './report.js';
import type { CheckContext, Outcome, StepContext, Workload } from './workload.js';

const LOCK_NAME = 'lk/name';
const GUARDED_KEY = 'lk/guarded';
const LEASE_TTL_S = 5;
/** A keep-alive is due after this long; well under the TTL so a healthy holder keeps its lock. */
const KEEPALIVE_INTERVAL_MS = 1_000;
/** How long one Lock call may wait for the holder ahead of it. */
const LOCK_DEADLINE_MS = 1_000;
/** Fenced writes per hold: 1..MAX_WRITES_PER_HOLD. */
const MAX_WRITES_PER_HOLD = 3;
/** Versions of the guarded key read back at the end, at most. */
export const MAX_HISTORY_VERSIONS = 100_000;
const FINAL_READ_ATTEMPTS = 10;
const FINAL_READ_RETRY_MS = 500;
/** Digits of a zero-padded token: int64 has at most 19, so VALUE compares order tokens numerically. */
const TOKEN_DIGITS = 20;

const COMPARE_TARGET_CREATE = 1;
const COMPARE_TARGET_VALUE = 3;
const COMPARE_EQUAL = 0;
const COMPARE_LESS = 2;

export const tokenText = (token: bigint): string => token.toString().padStart(TOKEN_DIGITS, '0');

/** The guarded value: `<token>:<writer>`. ':' sorts below ';', the bound the fence compares with. */
export const guardedValue = (token: bigint, writer: string): string => `${tokenText(token)}:${writer}`;

export function parseToken(value: string): bigint | null {
  const match = /^(\d{20}):/.exec(value);
  return match === null ? null : BigInt(match[1]);
}

/** One version of the guarded key, as read back from the store. */
export interface GuardedVersion {
  readonly revision: bigint;
  readonly value: string;
}

/** One fenced write as a client saw it. */
export interface FencedWrite {
  readonly id: number;
  readonly value: string;
  readonly token: bigint;
  /** written: acknowledged; refused: the fence said no; info: unknown; fail: definitely not sent. */
  readonly outcome: 'written' | 'refused' | 'info' | 'fail';
  /** The revision of an acknowledged write (its response header). */
  readonly revision?: bigint;
  /** Written with a token from a hold already given up. */
  readonly stale: boolean;
}

export interface FenceVerdict {
  readonly valid: boolean;
  readonly summary: string;
  readonly problems: readonly string[];
  readonly failing: readonly number[];
}

/** Problems listed per check, at most. */
const MAX_PROBLEMS = 20;

/**
 * The fence held iff, in revision order, tokens never decrease (equal tokens are one holder's
 * successive writes), every version is a write no client was told failed, and every
 * acknowledged write is the version at the revision its response named.
 */
export function checkFencedWrites(
  versions: readonly GuardedVersion[],
  writes: readonly FencedWrite[],
): FenceVerdict {
  const problems: string[] = [];
  const failing = new Set<number>();
  const byValue = new Map(writes.map((w) => [w.value, w]));
  const note = (problem: string, ...ids: (number | undefined)[]) => {
    if (problems.length < MAX_PROBLEMS) problems.push(problem);
    for (const id of ids) if (id !== undefined) failing.add(id);
  };
  let previous: { token: bigint; version: GuardedVersion } | null = null;
  for (const version of versions) {
    const write = byValue.get(version.value);
    const token = parseToken(version.value);
    if (token === null) {
      note(`revision ${version.revision}: value ${JSON.stringify(version.value)} carries no token`);
      continue;
    }
    if (previous !== null && version.revision <= previous.version.revision)
      note(`versions out of order: revision ${version.revision} after ${previous.version.revision}`);
    if (previous !== null && token < previous.token) {
      note(
        `stale-token write: revision ${version.revision} wrote token ${token} after revision ${previous.version.revision} had written token ${previous.token}`,
        write?.id,
        byValue.get(previous.version.value)?.id,
      );
    }
    if (write === undefined)
      note(`revision ${version.revision}: ${version.value} was never written by a client`);
    else if (write.outcome === 'refused' || write.outcome === 'fail')
      note(
        `revision ${version.revision}: ${version.value} is present, but its writer was told ${write.outcome}`,
        write.id,
      );
    previous = { token, version };
  }
  const present = new Map(versions.map((v) => [v.value, v.revision]));
  for (const write of writes) {
    if (write.outcome !== 'written') continue;
    const revision = present.get(write.value);
    if (revision === undefined)
      note(`acknowledged write ${write.value} (operation ${write.id}) is lost`, write.id);
    else if (write.revision !== undefined && revision !== write.revision)
      note(
        `write ${write.value} acknowledged at revision ${write.revision} but stored at ${revision}`,
        write.id,
      );
  }
  const tokens = new Set(versions.map((v) => parseToken(v.value)));
  const count = (outcome: FencedWrite['outcome'], stale?: boolean) =>
    writes.filter((w) => w.outcome === outcome && (stale === undefined || w.stale === stale)).length;
  const summary =
    problems.length === 0
      ? `${versions.length} fenced writes by ${tokens.size} holders, tokens never decrease; ${count('refused')} writes fenced off (${count('refused', true)} after giving up the lock), ${count('written', true)} late writes still current`
      : `${problems.length} fence violations in ${versions.length} writes`;
  return { valid: problems.length === 0, summary, problems, failing: [...failing] };
}

interface Session {
  lease: string | null;
  /** When the lease was granted or last kept alive (run clock). */
  refreshedMs: number;
  lockKey: Uint8Array | null;
  token: bigint | null;
  writesLeft: number;
  /** A token from a hold this client gave up: used for one late write, as a paused holder would. */
  staleToken: bigint | null;
}

type KeyValue = { create_revision?: string; lease?: string; value?: Uint8Array; mod_revision?: string };

function firstKv(response: ProtoObject): KeyValue | undefined {
  return (response.kvs as KeyValue[] | undefined)?.[0];
}

const errorOf = (result: CallResult): string | undefined => (result.kind === 'ok' ? undefined : result.error);

export class LockWorkload implements Workload {
  readonly name = 'lock';
  readonly description = 'Lock service with fencing tokens: fenced writes must carry non-decreasing tokens';
  private readonly sessions = new Map<number, Session>();
  private readonly writes: FencedWrite[] = [];
  private acquisitions = 0;

  async step(context: StepContext): Promise<Outcome> {
    let session = this.sessions.get(context.client);
    if (session === undefined) {
      session = { lease: null, refreshedMs: 0, lockKey: null, token: null, writesLeft: 0, staleToken: null };
      this.sessions.set(context.client, session);
    }
    if (session.lease !== null && context.now() - session.refreshedMs > LEASE_TTL_S * 1000) {
      // We could not keep it alive in time: assume the lease (and the lock) is gone.
      this.giveUp(session);
    }
    if (session.lease === null) return this.grant(context, session);
    if (context.now() - session.refreshedMs >= KEEPALIVE_INTERVAL_MS) return this.keepAlive(context, session);
    if (session.staleToken !== null && context.random(3) === 0) {
      const token = session.staleToken;
      session.staleToken = null;
      return this.fencedWrite(context, token, true);
    }
    if (session.token === null) return this.acquire(context, session);
    if (session.writesLeft > 0) {
      session.writesLeft--;
      return this.fencedWrite(context, session.token, false);
    }
    return this.release(context, session);
  }

  private giveUp(session: Session): void {
    if (session.token !== null) session.staleToken = session.token;
    session.lease = null;
    session.lockKey = null;
    session.token = null;
    session.writesLeft = 0;
  }

  private async grant(context: StepContext, session: Session): Promise<Outcome> {
    const callMs = context.now();
    const result = await context.connection.leaseGrant({ TTL: String(LEASE_TTL_S) });
    const id = result.kind === 'ok' ? String(result.response.ID ?? '0') : null;
    context.record({
      input: { f: 'lease-grant' },
      output: { lease: id },
      callMs,
      outcome: result.kind,
      error: errorOf(result),
    });
    if (id !== null && id !== '0') {
      session.lease = id;
      session.refreshedMs = callMs;
    }
    return result.kind;
  }

  private async keepAlive(context: StepContext, session: Session): Promise<Outcome> {
    const lease = session.lease;
    if (lease === null) return 'fail';
    const callMs = context.now();
    const result = await context.connection.leaseKeepAlive(lease);
    const ttl = result.kind === 'ok' ? Number(result.response.TTL ?? '0') : null;
    context.record({
      input: { f: 'keep-alive', lease },
      output: { ttl },
      callMs,
      outcome: result.kind,
      error: errorOf(result),
    });
    if (ttl !== null) {
      if (ttl > 0) session.refreshedMs = callMs;
      else this.giveUp(session);
    }
    return result.kind;
  }

  private async acquire(context: StepContext, session: Session): Promise<Outcome> {
    const lease = session.lease;
    if (lease === null) return 'fail';
    const callMs = context.now();
    // A retry after a timeout is safe: Lock finds the key this lease already queued.
    const locked = await context.connection.lockAcquire(LOCK_NAME, lease, LOCK_DEADLINE_MS);
    if (locked.kind !== 'ok') {
      context.record({
        key: LOCK_NAME,
        input: { f: 'acquire', lease },
        callMs,
        outcome: locked.kind,
        error: locked.error,
      });
      return locked.kind;
    }
    const lockKey = locked.response.key as Uint8Array;
    // The token: our lock key's create revision, read linearizably.
    const read = await context.connection.range({ key: lockKey });
    const kv = read.kind === 'ok' ? firstKv(read.response) : undefined;
    const outcome: Outcome = read.kind === 'ok' ? 'ok' : 'info';
    context.record({
      key: LOCK_NAME,
      input: { f: 'acquire', lease },
      output: { key: Buffer.from(lockKey).toString(), token: kv?.create_revision ?? null },
      callMs,
      outcome,
      error: errorOf(read),
    });
    if (read.kind !== 'ok') return outcome;
    if (kv?.create_revision === undefined || kv.lease !== lease) {
      // The key is gone (or no longer ours): the lease expired between Lock and Range.
      this.giveUp(session);
      return 'ok';
    }
    this.acquisitions++;
    session.lockKey = lockKey;
    session.token = BigInt(kv.create_revision);
    session.writesLeft = 1 + context.random(MAX_WRITES_PER_HOLD);
    return 'ok';
  }

  private async fencedWrite(context: StepContext, token: bigint, stale: boolean): Promise<Outcome> {
    const value = guardedValue(token, `${context.client}-${context.n}`);
    const key = Buffer.from(GUARDED_KEY);
    const callMs = context.now();
    // Succeeds iff the value on record sorts below "<my token>;": its token is <= mine.
    let result = await context.connection.txn({
      compare: [
        {
          key,
          target: COMPARE_TARGET_VALUE,
          result: COMPARE_LESS,
          value: Buffer.from(`${tokenText(token)};`),
        },
      ],
      success: [{ request_put: { key, value: Buffer.from(value) } }],
      failure: [{ request_range: { key } }],
    });
    const absent = (response: ProtoObject): boolean => {
      const responses = (response.responses as ProtoObject[] | undefined) ?? [];
      const range = responses[0]?.response_range as { kvs?: unknown[] } | undefined;
      return (range?.kvs?.length ?? 0) === 0;
    };
    if (result.kind === 'ok' && result.response.succeeded !== true && absent(result.response)) {
      // A VALUE compare on a missing key is false (etcd): the first write creates the key.
      result = await context.connection.txn({
        compare: [{ key, target: COMPARE_TARGET_CREATE, result: COMPARE_EQUAL, create_revision: '0' }],
        success: [{ request_put: { key, value: Buffer.from(value) } }],
        failure: [],
      });
    }
    const written = result.kind === 'ok' && result.response.succeeded === true;
    const header =
      result.kind === 'ok' ? (result.response.header as { revision?: string } | undefined) : undefined;
    const revision = written && header?.revision !== undefined ? BigInt(header.revision) : undefined;
    const op = context.record({
      key: GUARDED_KEY,
      input: { f: 'fenced-write', token: token.toString(), value, stale },
      output: { written, revision: revision?.toString() ?? null },
      callMs,
      outcome: result.kind,
      error: errorOf(result),
    });
    this.writes.push({
      id: op.id,
      value,
      token,
      outcome: result.kind === 'ok' ? (written ? 'written' : 'refused') : result.kind,
      ...(revision === undefined ? {} : { revision }),
      stale,
    });
    return result.kind;
  }

  private async release(context: StepContext, session: Session): Promise<Outcome> {
    const callMs = context.now();
    const roll = context.random(10);
    let result: CallResult;
    let how: string;
    if (roll < 8 && session.lockKey !== null) {
      how = 'unlock';
      result = await context.connection.lockRelease(session.lockKey);
      if (result.kind === 'ok') {
        session.staleToken = session.token;
        session.lockKey = null;
        session.token = null;
        context.record({ key: LOCK_NAME, input: { f: how }, callMs, outcome: result.kind });
        return result.kind;
      }
    } else if (roll < 9 && session.lease !== null) {
      how = 'revoke';
      result = await context.connection.leaseRevoke({ ID: session.lease });
    } else {
      // Walk away: no keep-alives any more, the lease expires and frees the lock in LEASE_TTL_S.
      how = 'abandon';
      result = { kind: 'ok', response: {} };
    }
    context.record({
      key: LOCK_NAME,
      input: { f: how },
      callMs,
      outcome: result.kind,
      error: errorOf(result),
    });
    // Whatever the outcome, this lease is finished: an unknown unlock or revoke still ends in expiry.
    this.giveUp(session);
    return result.kind;
  }

  async check(context: CheckContext): Promise<CheckerVerdict> {
    let versions: GuardedVersion[] | null = null;
    let lastError = '';
    for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS && versions === null; attempt++) {
      const client = await context.connect();
      const read = await readVersions(client);
      client.close();
      if (Array.isArray(read)) versions = read;
      else {
        lastError = read.error;
        await new Promise((resolve) => setTimeout(resolve, FINAL_READ_RETRY_MS));
      }
    }
    if (versions === null)
      return {
        workload: this.name,
        valid: 'unknown',
        summary: `reading ${GUARDED_KEY}'s history failed: ${lastError}`,
      };
    const verdict = checkFencedWrites(versions, this.writes);
    return {
      workload: this.name,
      valid: verdict.valid,
      summary: `${verdict.summary}; ${this.acquisitions} acquisitions`,
      ...(verdict.valid
        ? {}
        : { explanation: verdict.problems.join('\n'), failingOperations: verdict.failing }),
    };
  }
}

/**
 * The guarded key's every version, oldest first: read the latest, then the version just before
 * each one's mod revision, until the key did not exist. Nothing compacts during a lab run.
 */
async function readVersions(client: LabClient): Promise<GuardedVersion[] | { error: string }> {
  const versions: GuardedVersion[] = [];
  let revision: bigint | null = null;
  while (versions.length < MAX_HISTORY_VERSIONS) {
    const request: ProtoObject = { key: Buffer.from(GUARDED_KEY) };
    if (revision !== null) request.revision = revision.toString();
    const read = await client.range(request);
    if (read.kind !== 'ok') return { error: read.error };
    const kv = firstKv(read.response);
    if (kv?.mod_revision === undefined) return versions.reverse();
    const modRevision = BigInt(kv.mod_revision);
    versions.push({ revision: modRevision, value: Buffer.from(kv.value ?? new Uint8Array(0)).toString() });
    if (modRevision <= 1n) return versions.reverse();
    revision = modRevision - 1n;
  }
  return { error: `more than MAX_HISTORY_VERSIONS (${MAX_HISTORY_VERSIONS}) versions` };
}

export const createLockWorkload = (): Workload => new LockWorkload();
