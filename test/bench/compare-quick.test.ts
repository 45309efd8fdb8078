// `npm run bench -- --quick` end to end: starts real Flotilla and etcd clusters, runs every main
// row once, and checks the report it writes is complete — every row on both systems with
// operations, no errors, finite latencies, CPU and memory figures, a ratio, and the chart and
// Markdown table naming each row. Nothing here judges speed: that is what the benchmark is for.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { etcdSkipReason } from '../support/etcd.js';

const COMPARE_JS = fileURLToPath(new URL('../../bench/compare.js', import.meta.url));
/** The quick run is meant to take well under 90 s; this bound only catches a hang. */
const QUICK_RUN_TIMEOUT_MS = 240_000;
/** After SIGINT the benchmark stops both clusters; then it is killed. */
const INTERRUPT_GRACE_MS = 20_000;
const OUTPUT_TAIL_CHARS = 6_000;
const MEMBERS = 3;
const MAIN_ROWS = [
  'put-1',
  'put-64',
  'put-256',
  'get-linearizable',
  'get-serializable',
  'txn-cas',
  'range',
  'lease-grant',
  'lease-keepalive',
  'watch-fanout',
];

interface RoundJson {
  ops: number;
  errors: number;
  firstError: string | null;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  serverCpuSeconds: number;
  generatorCpuSeconds: number;
  peakRssBytesPerNode: number[];
}

interface SystemJson {
  failed: boolean;
  firstError: string | null;
  median: { opsPerSecond: number | null; p50Ms: number | null; peakRssBytesMax: number | null };
  rounds: RoundJson[];
}

interface RowJson {
  id: string;
  title: string;
  systems: { flotilla: SystemJson; etcd: SystemJson };
  ratios: { opsPerSecond: number | null; p50Ms: number | null; serverCpuSecondsPer10kOps: number | null };
}

function runQuick(outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [COMPARE_JS, '--quick', '--out', outDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      output += `\n[test] no result after ${QUICK_RUN_TIMEOUT_MS} ms: interrupting`;
      child.kill('SIGINT');
      killTimer = setTimeout(() => child.kill('SIGKILL'), INTERRUPT_GRACE_MS);
    }, QUICK_RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ code, output });
    });
  });
}

function checkSystem(row: RowJson, system: 'flotilla' | 'etcd'): void {
  const summary = row.systems[system];
  const where = `${row.id} on ${system}`;
  assert.equal(summary.failed, false, `${where} failed: ${summary.firstError}`);
  assert.ok(summary.rounds.length >= 1, `${where}: no rounds`);
  for (const round of summary.rounds) {
    assert.ok(round.ops > 0, `${where}: no operations`);
    assert.equal(round.errors, 0, `${where}: ${round.errors} errors, first: ${round.firstError}`);
    for (const latency of [round.p50Ms, round.p99Ms, round.maxMs]) {
      assert.ok(latency !== null && Number.isFinite(latency) && latency >= 0, `${where}: latency ${latency}`);
    }
    assert.ok(round.serverCpuSeconds > 0, `${where}: server CPU ${round.serverCpuSeconds}`);
    assert.ok(round.generatorCpuSeconds >= 0, `${where}: generator CPU ${round.generatorCpuSeconds}`);
    assert.equal(
      round.peakRssBytesPerNode.length,
      MEMBERS,
      `${where}: RSS of ${round.peakRssBytesPerNode.length} nodes`,
    );
    for (const rss of round.peakRssBytesPerNode) assert.ok(rss > 0, `${where}: RSS ${rss}`);
  }
  assert.ok((summary.median.opsPerSecond ?? 0) > 0, `${where}: median throughput`);
}

test('bench --quick compares every main row on Flotilla and etcd', {
  skip: etcdSkipReason(),
  timeout: QUICK_RUN_TIMEOUT_MS + INTERRUPT_GRACE_MS + 10_000,
}, async () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-test-'));
  try {
    const { code, output } = await runQuick(outDir);
    assert.equal(code, 0, `bench --quick exited with ${code}:\n${output}`);
    const report = JSON.parse(fs.readFileSync(path.join(outDir, 'latest.json'), 'utf8')) as {
      rows: RowJson[];
    };
    const svg = fs.readFileSync(path.join(outDir, 'latest.svg'), 'utf8');
    const markdown = fs.readFileSync(path.join(outDir, 'latest.md'), 'utf8');
    const timestamped = fs.readdirSync(outDir).filter((name) => /^\d{4}-.*\.json$/.test(name));
    assert.equal(timestamped.length, 1, `expected one timestamped JSON, found ${timestamped.join(', ')}`);
    for (const id of MAIN_ROWS) {
      const row = report.rows.find((candidate) => candidate.id === id);
      assert.ok(row !== undefined, `row ${id} missing from the report`);
      checkSystem(row, 'flotilla');
      checkSystem(row, 'etcd');
      const throughputRatio = row.ratios.opsPerSecond;
      assert.ok(
        throughputRatio !== null && Number.isFinite(throughputRatio) && throughputRatio > 0,
        `${id}: ratio`,
      );
      assert.ok(svg.includes(row.title), `latest.svg does not mention ${row.title}`);
      assert.ok(markdown.includes(row.title), `latest.md does not mention ${row.title}`);
    }
    assert.match(svg, /^<svg /);
    assert.match(markdown, /\| row \| Flotilla ops\/s \| etcd ops\/s \| ratio \|/);
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});
