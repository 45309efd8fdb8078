// The bank workload: BANK_ACCOUNTS accounts holding a fixed total, transfers between two of them
// as a compare-and-swap Txn on both mod revisions, and reads of every account at one revision.
// Whatever the faults, every read must show all accounts (or none, before the one initialising
// Txn) summing to BANK_TOTAL with no negative balance: a lost or doubled transfer, a Txn applied
// although its compare no longer held, or a read mixing revisions breaks the sum.

import type { CallResult, ProtoObject } from './client.js';
import { text } from './register.js';
import type { CheckerVerdict, RecordedOperation } from './report.js';
import type { CheckContext, Outcome, StepContext, Workload } from './workload.js';

export const BANK_ACCOUNTS = 5;
export const BANK_INITIAL_BALANCE = 100;
export const BANK_TOTAL = BANK_ACCOUNTS * BANK_INITIAL_BALANCE;
const ACCOUNT_PREFIX = 'b/acct/';
/** The prefix's range end: '/' + 1. */
const ACCOUNT_PREFIX_END = 'b/acct0';
const MAX_TRANSFER_AMOUNT = 20;
/** Out of 10 steps, how many are transfers (the rest are reads). */
const TRANSFER_ROLLS = 6;
const FINAL_READ_ATTEMPTS = 10;
const FINAL_READ_RETRY_MS = 500;
/** Bad reads quoted in a verdict's explanation; the history file has them all. */
const MAX_EXPLAINED_READS = 10;

export const accountKey = (account: number): string => `${ACCOUNT_PREFIX}${account}`;

/** Every account at one revision, as read: key → balance text (absent accounts are missing). */
export interface BankSnapshot {
  readonly revision: string;
  readonly balances: Readonly<Record<string, string>>;
}

/** What the workload records as an operation's input (history.jsonl). */
export type BankInput =
  | { readonly type: 'init' }
  | { readonly type: 'read' }
  | {
      readonly type: 'transfer';
      readonly from: number;
      readonly to: number;
      readonly amount: number;
      /** The read the transfer was computed from (an acknowledged read). */
      readonly read: BankSnapshot;
      /** The mod revisions of `from` and `to` the Txn compares against. */
      readonly expectModRevisions: readonly [string, string];
    };

// --- the wire ------------------------------------------------------------------------------------

const ZERO_REVISION = '0';

function headerRevision(response: ProtoObject): string {
  const header = response.header as ProtoObject | undefined;
  return String(header?.revision ?? ZERO_REVISION);
}

interface AccountRead {
  readonly snapshot: BankSnapshot;
  readonly modRevisions: Readonly<Record<string, string>>;
}

function parseAccounts(response: ProtoObject): AccountRead {
  const kvs = (response.kvs as ProtoObject[] | undefined) ?? [];
  const balances: Record<string, string> = {};
  const modRevisions: Record<string, string> = {};
  for (const kv of kvs) {
    const key = text(kv.key) ?? '';
    balances[key] = text(kv.value) ?? '';
    modRevisions[key] = String(kv.mod_revision ?? ZERO_REVISION);
  }
  return { snapshot: { revision: headerRevision(response), balances }, modRevisions };
}

const ACCOUNTS_RANGE: ProtoObject = {
  key: Buffer.from(ACCOUNT_PREFIX),
  range_end: Buffer.from(ACCOUNT_PREFIX_END),
};

/** Creates every account, only if the first does not exist yet (so at most once, ever). */
function initRequest(): ProtoObject {
  const puts = Array.from({ length: BANK_ACCOUNTS }, (_, account) => ({
    request_put: { key: Buffer.from(accountKey(account)), value: Buffer.from(String(BANK_INITIAL_BALANCE)) },
  }));
  return {
    compare: [{ key: Buffer.from(accountKey(0)), target: 1 /* CREATE */, result: 0, create_revision: '0' }],
    success: puts,
    failure: [],
  };
}

function transferRequest(input: Extract<BankInput, { type: 'transfer' }>): ProtoObject {
  const from = accountKey(input.from);
  const to = accountKey(input.to);
  const fromBalance = Number(input.read.balances[from]) - input.amount;
  const toBalance = Number(input.read.balances[to]) + input.amount;
  const compare = (key: string, modRevision: string) => ({
    key: Buffer.from(key),
    target: 2 /* MOD */,
    result: 0 /* EQUAL */,
    mod_revision: modRevision,
  });
  return {
    compare: [compare(from, input.expectModRevisions[0]), compare(to, input.expectModRevisions[1])],
    success: [
      { request_put: { key: Buffer.from(from), value: Buffer.from(String(fromBalance)) } },
      { request_put: { key: Buffer.from(to), value: Buffer.from(String(toBalance)) } },
    ],
    failure: [],
  };
}

// --- the workload --------------------------------------------------------------------------------

export class BankWorkload implements Workload {
  readonly name = 'bank';
  readonly description =
    'transfers between accounts (Txn on both mod revisions) and reads: the total is always conserved';
  /** An acknowledged Txn (or a read) showed the accounts exist; until then every step re-tries init. */
  private initialised = false;

  async step(context: StepContext): Promise<Outcome> {
    if (!this.initialised) return this.init(context);
    const callMs = context.now();
    const read = await context.connection.range(ACCOUNTS_RANGE);
    const accounts = read.kind === 'ok' ? parseAccounts(read.response) : null;
    const transfer =
      accounts !== null && context.random(10) < TRANSFER_ROLLS
        ? this.chooseTransfer(context, accounts)
        : null;
    if (transfer === null) return this.recordRead(context, callMs, read, accounts);
    const result = await context.connection.txn(transferRequest(transfer));
    context.record({
      key: ACCOUNT_PREFIX,
      input: transfer,
      output:
        result.kind === 'ok'
          ? { succeeded: result.response.succeeded === true, revision: headerRevision(result.response) }
          : undefined,
      callMs,
      outcome: result.kind,
      error: result.kind === 'ok' ? undefined : result.error,
    });
    return result.kind;
  }

  private async init(context: StepContext): Promise<Outcome> {
    const callMs = context.now();
    const result = await context.connection.txn(initRequest());
    context.record({
      key: ACCOUNT_PREFIX,
      input: { type: 'init' } satisfies BankInput,
      output: result.kind === 'ok' ? { succeeded: result.response.succeeded === true } : undefined,
      callMs,
      outcome: result.kind,
      error: result.kind === 'ok' ? undefined : result.error,
    });
    // Acknowledged either way: created now, or the first account already existed (an earlier
    // init, perhaps one whose outcome was unknown). A fail or an info leaves it to the next step.
    if (result.kind === 'ok') this.initialised = true;
    return result.kind;
  }

  private recordRead(
    context: StepContext,
    callMs: number,
    read: CallResult,
    accounts: AccountRead | null,
  ): Outcome {
    context.record({
      key: ACCOUNT_PREFIX,
      input: { type: 'read' } satisfies BankInput,
      output: accounts?.snapshot,
      callMs,
      outcome: read.kind,
      error: read.kind === 'ok' ? undefined : read.error,
    });
    if (accounts !== null && Object.keys(accounts.snapshot.balances).length === BANK_ACCOUNTS)
      this.initialised = true;
    return read.kind;
  }

  /** Two distinct accounts and an amount the source can afford, or null (then the read is recorded). */
  private chooseTransfer(
    context: StepContext,
    accounts: AccountRead,
  ): Extract<BankInput, { type: 'transfer' }> | null {
    const from = context.random(BANK_ACCOUNTS);
    const to = (from + 1 + context.random(BANK_ACCOUNTS - 1)) % BANK_ACCOUNTS;
    const fromBalance = Number(accounts.snapshot.balances[accountKey(from)]);
    const toBalance = Number(accounts.snapshot.balances[accountKey(to)]);
    // A malformed or missing balance is the checker's to report, not the client's to transfer from.
    if (!Number.isSafeInteger(fromBalance) || !Number.isSafeInteger(toBalance) || fromBalance <= 0)
      return null;
    const amount = 1 + context.random(Math.min(MAX_TRANSFER_AMOUNT, fromBalance));
    return {
      type: 'transfer',
      from,
      to,
      amount,
      read: accounts.snapshot,
      expectModRevisions: [
        accounts.modRevisions[accountKey(from)] ?? ZERO_REVISION,
        accounts.modRevisions[accountKey(to)] ?? ZERO_REVISION,
      ],
    };
  }

  async check(context: CheckContext): Promise<CheckerVerdict> {
    let final: BankSnapshot | null = null;
    let lastError = '';
    for (let attempt = 0; attempt < FINAL_READ_ATTEMPTS && final === null; attempt++) {
      const client = await context.connect();
      const read = await client.range(ACCOUNTS_RANGE);
      client.close();
      if (read.kind === 'ok') final = parseAccounts(read.response).snapshot;
      else {
        lastError = read.error;
        await new Promise((resolve) => setTimeout(resolve, FINAL_READ_RETRY_MS));
      }
    }
    if (final === null)
      return { workload: this.name, valid: 'unknown', summary: `final read failed: ${lastError}` };
    return checkBank(context.operations, final);
  }
}

/** The lab's factory (src/chaos/workloads.ts). */
export const createBankWorkload = (): Workload => new BankWorkload();

// --- the checker ---------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asSnapshot(value: unknown): BankSnapshot | null {
  if (!isObject(value) || typeof value.revision !== 'string' || !isObject(value.balances)) return null;
  const balances: Record<string, string> = {};
  for (const [key, balance] of Object.entries(value.balances)) balances[key] = String(balance);
  return { revision: value.revision, balances };
}

/** Why a snapshot breaks the invariant, or null. `uninitialisedAllowed`: no accounts is fine. */
export function snapshotProblem(snapshot: BankSnapshot, uninitialisedAllowed: boolean): string | null {
  const keys = Object.keys(snapshot.balances);
  if (keys.length === 0)
    return uninitialisedAllowed ? null : 'no accounts, although their creation was acknowledged before';
  const expected = Array.from({ length: BANK_ACCOUNTS }, (_, account) => accountKey(account));
  const missing = expected.filter((key) => !Object.hasOwn(snapshot.balances, key));
  const extra = keys.filter((key) => !expected.includes(key));
  if (missing.length > 0 || extra.length > 0)
    return `accounts missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`;
  let sum = 0;
  for (const key of expected) {
    const balance = snapshot.balances[key];
    if (!/^-?\d+$/.test(balance)) return `${key} holds '${balance}', not a balance`;
    if (Number(balance) < 0) return `${key} is negative (${balance})`;
    sum += Number(balance);
  }
  return sum === BANK_TOTAL ? null : `balances sum to ${sum}, not ${BANK_TOTAL}`;
}

const describe = (snapshot: BankSnapshot): string =>
  `revision ${snapshot.revision}: ${Object.entries(snapshot.balances)
    .map(([key, balance]) => `${key.slice(ACCOUNT_PREFIX.length)}=${balance}`)
    .join(' ')}`;

/**
 * Every acknowledged read (plain, or the one a transfer was computed from) and the final read
 * must hold the total. A read that began after an init was acknowledged must see the accounts.
 */
export function checkBank(operations: readonly RecordedOperation[], final: BankSnapshot): CheckerVerdict {
  const initAckMs = Math.min(
    ...operations
      .filter((o) => isObject(o.input) && o.input.type === 'init' && o.outcome === 'ok')
      .map((o) => o.returnMs ?? Number.POSITIVE_INFINITY),
  );
  const bad: { id: number | null; problem: string; snapshot: BankSnapshot }[] = [];
  let reads = 0;
  let transfers = 0;
  let committed = 0;
  for (const operation of operations) {
    const input = operation.input;
    if (!isObject(input)) continue;
    let snapshot: BankSnapshot | null = null;
    if (input.type === 'read' && operation.outcome === 'ok') {
      reads++;
      snapshot = asSnapshot(operation.output);
    } else if (input.type === 'transfer') {
      transfers++;
      snapshot = asSnapshot(input.read);
      if (operation.outcome === 'ok' && isObject(operation.output) && operation.output.succeeded === true)
        committed++;
    } else continue;
    if (snapshot === null) {
      bad.push({ id: operation.id, problem: 'malformed record', snapshot: { revision: '?', balances: {} } });
      continue;
    }
    const problem = snapshotProblem(snapshot, operation.callMs <= initAckMs);
    if (problem !== null) bad.push({ id: operation.id, problem, snapshot });
  }
  const finalProblem = snapshotProblem(final, false);
  if (finalProblem !== null) bad.push({ id: null, problem: `final read: ${finalProblem}`, snapshot: final });
  const counts = `${transfers} transfers (${committed} committed), ${reads} reads`;
  if (bad.length === 0)
    return { workload: 'bank', valid: true, summary: `${counts}, total ${BANK_TOTAL} conserved` };
  return {
    workload: 'bank',
    valid: false,
    summary: `${counts}, ${bad.length} reads break the invariant (total ${BANK_TOTAL}, no negative balance)`,
    explanation: bad
      .slice(0, MAX_EXPLAINED_READS)
      .map((b) => `${b.id === null ? 'final read' : `op ${b.id}`}: ${b.problem} (${describe(b.snapshot)})`)
      .join('; '),
    failingOperations: bad.flatMap((b) => (b.id === null ? [] : [b.id])),
  };
}
