// The bank and watch checkers on hand-built histories (one anomaly each), then a short lab run
// with both workloads under partitions and kills, which must be valid.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { accountKey, BANK_ACCOUNTS, type BankSnapshot, checkBank } from '../../src/chaos/bank.js';
import type { RecordedOperation } from '../../src/chaos/report.js';
import { checkWatch, type WatchEvent } from '../../src/chaos/watch.js';

let nextId = 0;
function op(fields: Partial<RecordedOperation> & { input: unknown }): RecordedOperation {
  const id = nextId++;
  return {
    id,
    client: 0,
    workload: 'test',
    callMs: id * 10,
    returnMs: id * 10 + 5,
    outcome: 'ok',
    ...fields,
  };
}

function snapshot(revision: number, balances: readonly number[]): BankSnapshot {
  return {
    revision: String(revision),
    balances: Object.fromEntries(balances.map((balance, account) => [accountKey(account), String(balance)])),
  };
}

const EVEN = Array.from({ length: BANK_ACCOUNTS }, () => 100);

describe('bank checker', () => {
  const init = op({ input: { type: 'init' }, output: { succeeded: true } });

  test('reads that hold the total are valid; an empty read before init is fine', () => {
    const history = [
      op({ input: { type: 'read' }, output: snapshot(1, []), callMs: -1 }),
      init,
      op({ input: { type: 'read' }, output: snapshot(3, [90, 110, 100, 100, 100]) }),
      op({
        input: { type: 'transfer', from: 0, to: 1, amount: 5, read: snapshot(3, [90, 110, 100, 100, 100]) },
        output: { succeeded: true, revision: '4' },
      }),
    ];
    const verdict = checkBank(history, snapshot(4, [85, 115, 100, 100, 100]));
    assert.equal(verdict.valid, true, verdict.explanation);
    assert.match(verdict.summary, /^1 transfers \(1 committed\), 2 reads, total 500 conserved$/);
  });

  test('a read whose balances do not sum to the total is invalid', () => {
    const bad = op({ input: { type: 'read' }, output: snapshot(5, [95, 100, 100, 100, 100]) });
    const verdict = checkBank([init, bad], snapshot(6, EVEN));
    assert.equal(verdict.valid, false);
    assert.match(verdict.explanation ?? '', /sum to 495, not 500/);
    assert.deepEqual(verdict.failingOperations, [bad.id]);
  });

  test('a negative balance, a missing account, a lost init and a bad final read are invalid', () => {
    const negative = op({ input: { type: 'read' }, output: snapshot(5, [-10, 110, 100, 100, 200]) });
    const partial = op({ input: { type: 'read' }, output: snapshot(5, [100, 100]) });
    const lost = op({ input: { type: 'read' }, output: snapshot(5, []) });
    assert.match(checkBank([init, negative], snapshot(6, EVEN)).explanation ?? '', /negative/);
    assert.match(checkBank([init, partial], snapshot(6, EVEN)).explanation ?? '', /missing/);
    assert.match(checkBank([init, lost], snapshot(6, EVEN)).explanation ?? '', /no accounts/);
    assert.equal(checkBank([init], snapshot(6, [100, 100, 100, 100, 101])).valid, false);
  });
});

const put = (key: string, revision: number, value: string): WatchEvent => ({
  type: 'put',
  key,
  revision: String(revision),
  value,
});
const del = (key: string, revision: number): WatchEvent => ({
  type: 'delete',
  key,
  revision: String(revision),
  value: '',
});

describe('watch checker', () => {
  // Revision 4 is a Txn of two puts; revision 3 belongs to another workload.
  const truth = [
    put('w/0', 2, 'a'),
    put('w/1', 4, 'b1'),
    put('w/2', 4, 'b2'),
    del('w/0', 5),
    put('w/1', 6, 'c'),
  ];
  const finalState = new Map([
    ['w/1', 'c'],
    ['w/2', 'b2'],
  ]);
  const writes = [
    op({
      client: 1,
      input: { type: 'put', key: 'w/0', value: 'a' },
      output: { revision: '2', deleted: '0' },
    }),
    op({
      client: 1,
      input: {
        type: 'txn',
        puts: [
          { key: 'w/1', value: 'b1' },
          { key: 'w/2', value: 'b2' },
        ],
      },
      output: { revision: '4', deleted: '0' },
    }),
    op({ client: 1, input: { type: 'delete', key: 'w/0' }, output: { revision: '5', deleted: '1' } }),
    op({ client: 1, input: { type: 'put', key: 'w/1', value: 'c' }, outcome: 'info' }),
    op({ client: 1, input: { type: 'put', key: 'w/3', value: 'never' }, outcome: 'fail' }),
  ];
  /** A watcher from revision 1 whose sessions delivered these batches. */
  function watcher(...batches: WatchEvent[][]): RecordedOperation[] {
    return batches.flatMap((events, session) => [
      op({
        client: 2,
        input: { type: 'watch', watcher: 2, session: session + 1, from: session === 0 ? '1' : 'x' },
        output: { created: '6' },
      }),
      op({ client: 2, input: { type: 'events', watcher: 2, session: session + 1 }, output: { events } }),
    ]);
  }

  test('a watcher that resumed exactly where it stopped is valid', () => {
    const history = [...writes, ...watcher([truth[0], truth[1], truth[2]], [truth[3]], [truth[4]])];
    const verdict = checkWatch(history, truth, finalState);
    assert.equal(verdict.valid, true, verdict.explanation);
    assert.match(
      verdict.summary,
      /3 acknowledged writes in 5 events; 1 watchers saw 5 events over 3 sessions/,
    );
  });

  test('a watch from the current revision is checked from its created header', () => {
    const history = [
      op({ input: { type: 'watch', watcher: 3, session: 1, from: null }, output: { created: '4' } }),
      op({ input: { type: 'events', watcher: 3, session: 1 }, output: { events: [truth[4]] } }),
    ];
    assert.equal(checkWatch(history, truth).valid, false, 'revision 5 was missed');
    const fine = [history[0], op({ input: history[1].input, output: { events: [truth[3], truth[4]] } })];
    assert.equal(checkWatch(fine, truth).valid, true);
  });

  test('an event delivered again after a resume is invalid', () => {
    const verdict = checkWatch(watcher([truth[0], truth[1], truth[2]], [truth[2], truth[3]]), truth);
    assert.equal(verdict.valid, false);
    assert.match(verdict.explanation ?? '', /put w\/2@4=b2 delivered twice/);
  });

  test('an event skipped between sessions is invalid', () => {
    const verdict = checkWatch(watcher([truth[0], truth[1], truth[2]], [truth[4]]), truth);
    assert.equal(verdict.valid, false);
    assert.match(verdict.explanation ?? '', /missed 1 events .* first delete w\/0@5/);
  });

  test('events out of order, even within one revision, are invalid', () => {
    const swapped = checkWatch(watcher([truth[0], truth[2], truth[1], truth[3]]), truth);
    assert.equal(swapped.valid, false);
    assert.match(swapped.explanation ?? '', /put w\/1@4=b1 .* delivered after put w\/2@4=b2/);
    assert.equal(checkWatch(watcher([truth[0], truth[3], truth[1]]), truth).valid, false);
  });

  test('an event that is not in the history, or a wrong value, is invalid', () => {
    const verdict = checkWatch(watcher([truth[0], put('w/1', 4, 'other')]), truth);
    assert.equal(verdict.valid, false);
    assert.match(verdict.explanation ?? '', /is not in the history/);
  });

  test('a lost acknowledged write, a refused write that happened and a wrong final state are invalid', () => {
    const lost = checkWatch(writes, truth.slice(0, 3), finalState);
    assert.match(lost.explanation ?? '', /acknowledged delete w\/0@5 is missing/);
    const refused = checkWatch(writes, [...truth, put('w/3', 7, 'never')]);
    assert.match(refused.explanation ?? '', /refused put w\/3=never is in the history/);
    const state = checkWatch([], truth, new Map([['w/1', 'c']]));
    assert.match(state.explanation ?? '', /w\/2 is absent at the end/);
  });

  test('a watch canceled for compaction makes the verdict unknown', () => {
    const history = [
      op({ input: { type: 'watch', watcher: 4, session: 1, from: '1' }, output: { created: '6' } }),
      op({ input: { type: 'events', watcher: 4, session: 1 }, output: { events: [], compactRevision: '3' } }),
    ];
    assert.equal(checkWatch(history, truth).valid, 'unknown');
  });
});

describe('the lab with bank and watch', () => {
  const BIN = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));
  const root = mkdtempSync(join(tmpdir(), 'flotilla-bank-watch-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a short run under partitions and kills is valid', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        BIN,
        'chaos',
        '--time',
        '8',
        '--workload',
        'bank,watch',
        '--nemesis',
        'partition-halves,kill-one',
        '--seed',
        '4',
        '--out',
        join(root, 'run'),
      ],
      { timeout: 180_000 },
    );
    const verdict = stdout.trim().split('\n').at(-1) ?? '';
    assert.match(verdict, /^chaos: valid/);
    assert.match(verdict, /bank: \d+ transfers \(\d+ committed\), \d+ reads, total 500 conserved/);
    assert.match(verdict, /watch: \d+ acknowledged writes in \d+ events; \d+ watchers saw \d+ events/);
  });
});
