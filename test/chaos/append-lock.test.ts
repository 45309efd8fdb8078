// The lock workload's fence checker on hand-built histories (it must be able to fail), the
// list-append value parser, and both workloads end to end under partitions and kills.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListValueError, parseList } from '../../src/chaos/list-append.js';
import {
  checkFencedWrites,
  type FencedWrite,
  type GuardedVersion,
  guardedValue,
  parseToken,
} from '../../src/chaos/lock.js';

function written(id: number, token: bigint, revision: bigint, stale = false): FencedWrite {
  return { id, value: guardedValue(token, `c-${id}`), token, outcome: 'written', revision, stale };
}
const version = (write: FencedWrite): GuardedVersion => ({
  revision: write.revision ?? 0n,
  value: write.value,
});

describe('lock: the fence checker', () => {
  test('tokens that never decrease, all acknowledged writes present: valid', () => {
    const writes = [written(1, 5n, 6n), written(2, 5n, 7n), written(3, 9n, 11n)];
    const refused: FencedWrite = {
      id: 4,
      value: guardedValue(5n, 'c-4'),
      token: 5n,
      outcome: 'refused',
      stale: true,
    };
    const verdict = checkFencedWrites(writes.map(version), [...writes, refused]);
    assert.equal(verdict.valid, true, verdict.problems.join('\n'));
    assert.match(
      verdict.summary,
      /^3 fenced writes by 2 holders, tokens never decrease; 1 writes fenced off/,
    );
  });

  test('a stale-token write after a newer holder wrote is invalid', () => {
    const writes = [written(1, 5n, 6n), written(2, 9n, 10n), written(3, 5n, 12n, true)];
    const verdict = checkFencedWrites(writes.map(version), writes);
    assert.equal(verdict.valid, false);
    assert.match(verdict.problems[0], /^stale-token write: revision 12 wrote token 5 after revision 10/);
    assert.deepEqual([...verdict.failing].sort(), [2, 3]);
  });

  test('an acknowledged write missing from the history is lost; a refused one present is a phantom', () => {
    const kept = written(1, 5n, 6n);
    const lost = written(2, 7n, 8n);
    const phantom: FencedWrite = {
      id: 3,
      value: guardedValue(9n, 'c-3'),
      token: 9n,
      outcome: 'refused',
      stale: false,
    };
    const verdict = checkFencedWrites(
      [version(kept), { revision: 9n, value: phantom.value }],
      [kept, lost, phantom],
    );
    assert.equal(verdict.valid, false);
    assert.ok(verdict.problems.some((p) => p.includes('is lost')));
    assert.ok(verdict.problems.some((p) => p.includes('its writer was told refused')));
  });

  test('tokens are zero padded so VALUE compares order them numerically', () => {
    assert.ok(guardedValue(9n, 'a') < guardedValue(10n, 'a'));
    assert.ok(guardedValue(10n, 'zzz') < `${guardedValue(10n, '').slice(0, 20)};`);
    assert.equal(parseToken(guardedValue(123n, 'x')), 123n);
    assert.equal(parseToken('garbage'), null);
  });
});

describe('list-append: stored lists', () => {
  test('parses JSON arrays of integers and rejects anything else', () => {
    assert.deepEqual(parseList('la/0', undefined), []);
    assert.deepEqual(parseList('la/0', Buffer.from('[1,2,3]')), [1, 2, 3]);
    assert.throws(() => parseList('la/0', Buffer.from('[1,"x"]')), ListValueError);
    assert.throws(() => parseList('la/0', Buffer.from('{')), ListValueError);
  });
});

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));
const RUN_SECONDS = Number(process.env.FLOTILLA_CHAOS_SECONDS ?? 8);
const root = mkdtempSync(join(tmpdir(), 'flotilla-append-lock-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('list-append and lock under partitions and kills are valid', async () => {
  let stdout = '';
  try {
    ({ stdout } = await run(
      process.execPath,
      [
        BIN,
        'chaos',
        `--time=${RUN_SECONDS}`,
        '--workload=list-append,lock',
        '--nemesis=partition-halves,kill-one',
        '--seed=4',
        `--out=${join(root, 'run')}`,
      ],
      { timeout: (RUN_SECONDS + 120) * 1000 },
    ));
  } catch (error) {
    stdout = (error as { stdout?: string }).stdout ?? String(error);
  }
  const verdict = stdout.trim().split('\n').at(-1) ?? '';
  assert.match(
    verdict,
    /^chaos: valid \(.*list-append: \d+ txns strict serializable .*lock: \d+ fenced writes by \d+ holders, tokens never decrease/,
  );
});
