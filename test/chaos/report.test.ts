// The fault lab's output: history files that read back exactly as written, and an HTML report
// that shows the verdict, every client, the faults and the blamed operations, escapes whatever
// the workload recorded, and stays bounded for long histories.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type FaultWindow,
  MAX_FAULT_BANDS,
  MAX_HIGHLIGHTED_BARS,
  MAX_LATENCY_OUTLIERS,
  MAX_LATENCY_POINTS,
  MAX_TIMELINE_BARS_PER_ROW,
  type RecordedOperation,
  type RunSummary,
  readHistory,
  renderReport,
  writeHistory,
  writeReport,
} from '../../src/chaos/report.js';
import { HistoryFileError } from '../../src/chaos/report-history.js';

function withTempDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-report-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

const FAULTS: readonly FaultWindow[] = [
  { name: 'partition', startMs: 1000, endMs: 3000, detail: 'n1 | n2 n3' },
  { name: 'kill', startMs: 2500, endMs: null, detail: 'SIGKILL n2' },
];

function summary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    startedAt: '2025-01-02T03:04:05.000Z',
    durationMs: 5000,
    seed: 42,
    nemeses: ['partition', 'kill'],
    workloads: ['register'],
    unsafe: null,
    verdict: 'valid',
    verdictLine: 'valid: 3 checks passed, cluster converged',
    checks: [{ workload: 'register', valid: true, summary: 'linearizable (6 operations)' }],
    convergence: 'all members agree at revision 17',
    ...overrides,
  };
}

function operation(
  id: number,
  client: number,
  callMs: number,
  overrides: Partial<RecordedOperation> = {},
): RecordedOperation {
  const base: RecordedOperation = {
    id,
    client,
    workload: 'register',
    key: 'k',
    input: { kind: 'read' },
    output: { value: 'v' },
    callMs,
    returnMs: callMs + 5,
    outcome: 'ok',
  };
  // An override of undefined removes the field, as a recorder would never have set it.
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const [field, value] of Object.entries(merged)) if (value === undefined) delete merged[field];
  return merged as unknown as RecordedOperation;
}

test('writeHistory/readHistory round-trips bigints, bytes, indefinite operations and odd objects', () => {
  const operations: RecordedOperation[] = [
    operation(0, 1, 10, { input: { kind: 'put', lease: 18446744073709551615n }, output: { revision: -5n } }),
    {
      id: 1,
      client: 2,
      workload: 'register',
      input: { kind: 'put', value: 'x' },
      callMs: 12.5,
      outcome: 'info',
    },
    operation(2, 3, 20, {
      key: '\u0000<k>\ud800',
      input: { value: Buffer.from([0, 1, 0xff, 0xfe]), text: Buffer.from('héllo\nworld') },
      output: [Buffer.alloc(0), null, 1.5, true, Number.NaN, Number.POSITIVE_INFINITY],
      node: 'n2',
      error: 'deadline exceeded',
    }),
    operation(3, 1, 30, {
      input: { $bigint: 'not a tag' },
      output: { nested: { $utf8: 'also not' } },
      outcome: 'fail',
    }),
  ];
  withTempDir((dir) => {
    const file = join(dir, 'history.jsonl');
    writeHistory(file, operations);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, operations.length);
    assert.match(lines[0]!, /"18446744073709551615"/, 'bigints are decimal strings in the file');
    assert.match(lines[2]!, /"\$utf8":"héllo\\nworld"/, 'printable bytes are written as text');
    assert.match(lines[2]!, /"\$base64":"AAH\/\/g=="/, 'binary bytes are written as base64');
    assert.deepEqual(readHistory(file), operations);
  });
});

test('writeHistory refuses values it cannot write faithfully', () => {
  withTempDir((dir) => {
    const file = join(dir, 'history.jsonl');
    assert.throws(() => writeHistory(file, [operation(0, 0, 0, { input: new Map() })]), HistoryFileError);
    assert.throws(() => writeHistory(file, [operation(0, 0, Number.NaN)]), HistoryFileError);
  });
});

test('readHistory names the line it cannot parse', () => {
  withTempDir((dir) => {
    const file = join(dir, 'bad.jsonl');
    const good = JSON.stringify({ id: 0, client: 0, workload: 'w', input: null, callMs: 1, outcome: 'ok' });
    const bad = JSON.stringify({ id: 1, client: 0, workload: 'w', input: null, callMs: 1, outcome: 'maybe' });
    writeFileSync(file, `${good}\n${bad}\n`);
    assert.throws(() => readHistory(file), /bad\.jsonl:2: outcome must be ok, fail or info/);
    writeFileSync(
      file,
      `${good}\n{"id":1,"client":0,"workload":"w","input":{"$bigint":"1.5"},"callMs":1,"outcome":"ok"}`,
    );
    assert.throws(() => readHistory(file), /bad\.jsonl:2 input: bad \$bigint/);
  });
});

/** A small INVALID run: a stale read on key "k" by client 2 during the partition. */
function invalidRun(): { summary: RunSummary; operations: RecordedOperation[] } {
  const operations: RecordedOperation[] = [
    operation(0, 0, 100, { input: { kind: 'write', value: 'a' }, output: 'ok' }),
    operation(1, 1, 1200, { input: { kind: 'write', value: 'b' }, output: 'ok', node: 'n1' }),
    operation(2, 2, 1400, { output: { value: 'a' }, node: 'n3' }),
    operation(3, 3, 1500, { outcome: 'info', output: undefined, returnMs: undefined, error: 'timeout' }),
    operation(4, 1, 4000, { outcome: 'fail', output: undefined, error: 'no leader' }),
  ];
  const explanation = 'read of "a" at 1400 ms is stale: write "b" completed at 1205 ms';
  return {
    operations,
    summary: summary({
      verdict: 'INVALID',
      verdictLine: 'INVALID: register is not linearizable (key "k")',
      checks: [
        {
          workload: 'register',
          valid: false,
          summary: 'not linearizable on key "k"',
          explanation,
          failingOperations: [1, 2],
        },
      ],
    }),
  };
}

test('the report shows the verdict, one timeline row per client, fault labels and the failing sub-history', () => {
  const { summary: run, operations } = invalidRun();
  const html = renderReport(run, operations, FAULTS);
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.ok(html.includes('INVALID: register is not linearizable (key &quot;k&quot;)'));
  assert.ok(html.includes('class="verdict invalid"'));
  for (const client of [0, 1, 2, 3]) assert.equal(count(html, `>client ${client}</text>`), 1);
  assert.equal(count(html, 'class="row-label"'), 4);
  assert.ok(html.includes('>partition<title>n1 | n2 n3</title></text>'));
  assert.ok(html.includes('>kill<title>SIGKILL n2</title></text>'));
  assert.ok(html.includes('read of &quot;a&quot; at 1400 ms is stale'));
  const failure = html.slice(html.indexOf('failing sub-history'), html.indexOf('<h2>Timeline'));
  assert.equal(count(failure, '<tr class="ok">'), 2, 'the two blamed operations are listed');
  assert.ok(failure.includes('<td>n3</td>'));
  assert.equal(count(html, 'class="bar ok blamed"'), 2, 'and outlined in the timeline');
  assert.equal(count(html, 'class="bar info indefinite"'), 1);
  assert.ok(!html.includes('<script'), 'no script: the report is static');
  assert.ok(!/(src|href)="http/.test(html), 'no external assets');
});

test('a valid report is green and lists no failing sub-history', () => {
  const html = renderReport(summary(), [operation(0, 0, 10)], []);
  assert.ok(html.includes('class="verdict valid"'));
  assert.ok(!html.includes('failing sub-history'));
  assert.ok(html.includes('No faults were injected.'));
});

test('recorded text is escaped everywhere it appears', () => {
  const hostile = '<script>alert(1)</script>"\'&';
  const operations = [
    operation(0, 0, 10, {
      key: hostile,
      input: { value: hostile },
      output: Buffer.from(hostile),
      node: hostile,
      error: hostile,
    }),
  ];
  const run = summary({
    verdict: 'INVALID',
    verdictLine: hostile,
    unsafe: hostile,
    convergence: hostile,
    nemeses: [hostile],
    workloads: [hostile],
    checks: [
      { workload: hostile, valid: false, summary: hostile, explanation: hostile, failingOperations: [0] },
    ],
  });
  const faults = [{ name: hostile, startMs: 0, endMs: 5, detail: hostile }];
  const html = renderReport(run, operations, faults);
  assert.ok(!html.includes('<script'));
  assert.ok(!html.includes('"\'&'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
});

test('a 50k-operation history renders within the bar limits', () => {
  const clients = 8;
  const operations: RecordedOperation[] = [];
  for (let id = 0; id < 50_000; id++) {
    const client = id % clients;
    const callMs = id * 2;
    const outcome = id % 97 === 0 ? 'info' : id % 13 === 0 ? 'fail' : 'ok';
    operations.push(
      outcome === 'info'
        ? { id, client, workload: 'register', input: { kind: 'read' }, callMs, outcome }
        : operation(id, client, callMs, { outcome, returnMs: callMs + 1 + (id % 50) }),
    );
  }
  const { summary: run } = invalidRun();
  const blamed = { ...run.checks[0]!, failingOperations: [10, 11, 12] };
  const html = renderReport({ ...run, durationMs: 100_000, checks: [blamed] }, operations, FAULTS);
  const rects = count(html, '<rect');
  // Per row: its merged bars (the indefinite band is one of them) and a stripe; plus the blamed
  // bars, the fault bands, and the hatch pattern's one.
  const limit = clients * (MAX_TIMELINE_BARS_PER_ROW + 1) + MAX_HIGHLIGHTED_BARS + 2 * MAX_FAULT_BANDS + 1;
  assert.ok(rects <= limit, `${rects} rects, limit ${limit}`);
  assert.ok(rects < operations.length / 10, `${rects} rects for ${operations.length} operations`);
  assert.ok(rects > clients * 10, 'rows are drawn, merged, not left empty');
  assert.ok(count(html, '<circle') <= MAX_LATENCY_POINTS + MAX_LATENCY_OUTLIERS);
  assert.equal(count(html, 'class="bar ok blamed"') + count(html, 'class="bar fail blamed"'), 3);
  assert.ok(html.length < 2_000_000, `report is ${html.length} characters`);
});

test('writeReport writes both files into the directory', () => {
  withTempDir((dir) => {
    const { summary: run, operations } = invalidRun();
    const out = join(dir, 'run-1');
    const files = writeReport(out, run, operations, FAULTS);
    assert.equal(files.historyFile, join(out, 'history.jsonl'));
    assert.equal(files.reportFile, join(out, 'report.html'));
    assert.deepEqual(readHistory(files.historyFile), operations);
    assert.ok(readFileSync(files.reportFile, 'utf8').includes(run.verdictLine.replaceAll('"', '&quot;')));
  });
});
