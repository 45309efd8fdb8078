// The run's record: machine, commit, command line, options and every row, written as JSON with a
// timestamped name (and as latest.json), plus latest.md (a table for the README) and latest.svg
// (a chart). The plain-text table on stdout comes from bench/support/table.ts.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ETCD_BIN } from '../../test/support/etcd.js';
import { formatCount, printTable, round } from '../support/table.js';
import { throughputChart } from './chart.js';
import type { MemberView } from './clusters.js';
import type { MemorySection, TimingFigures, TimingSection } from './extras.js';
import type { CompareOptions } from './options.js';
import type { PreloadFigures } from './preload.js';
import type { RowSummary, SystemSummary } from './summary.js';

const BYTES_PER_MIB = 1024 * 1024;

export interface Machine {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
  readonly kernel: string;
  readonly node: string;
  readonly etcd: string;
}

export interface Report {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine;
  readonly git: { readonly commit: string; readonly dirty: boolean };
  readonly commandLine: readonly string[];
  readonly options: CompareOptions;
  /** Members as started: name, pid, client address, data dir, and which one led at the start. */
  readonly clusters: Readonly<Record<string, readonly MemberView[]>>;
  readonly preload: Readonly<Record<string, Readonly<Record<string, PreloadFigures>>>>;
  readonly rows: readonly RowSummary[];
  readonly pipeline: readonly RowSummary[] | null;
  readonly memory: MemorySection | null;
  readonly restart: TimingSection | null;
  readonly memberAdd: TimingSection | null;
  /** Sections that threw, with the message. */
  readonly sectionErrors: Readonly<Record<string, string>>;
  readonly failedRows: readonly string[];
}

function run(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    etcd: run(ETCD_BIN, ['--version']).split('\n')[0] ?? 'unknown',
  };
}

export function describeGit(repoRoot: string): { commit: string; dirty: boolean } {
  const commit = run('git', ['-C', repoRoot, 'rev-parse', 'HEAD']);
  const dirty = run('git', ['-C', repoRoot, 'status', '--porcelain']) !== '';
  return { commit, dirty };
}

function figure(value: number | null, digits: number): string {
  return value === null ? '-' : value.toFixed(digits);
}

function rate(value: number | null): string {
  return value === null ? '-' : formatCount(value);
}

function ratioText(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(2)}x`;
}

function rssMiB(summary: SystemSummary): string {
  return summary.median.peakRssBytesMax === null
    ? '-'
    : (summary.median.peakRssBytesMax / BYTES_PER_MIB).toFixed(0);
}

function cells(row: RowSummary): { flotilla: SystemSummary; etcd: SystemSummary; failed: string } {
  const { flotilla, etcd } = row.systems;
  const failed = [flotilla.failed ? 'F' : '', etcd.failed ? 'e' : ''].filter((x) => x !== '').join('+');
  return { flotilla, etcd, failed: failed === '' ? '' : ` FAILED(${failed})` };
}

export function printRows(title: string, rows: readonly RowSummary[]): void {
  printTable(
    title,
    [
      { title: 'row', left: true },
      { title: 'Flotilla /s' },
      { title: 'etcd /s' },
      { title: 'ratio' },
      { title: 'p50 ms F/e' },
      { title: 'p99 ms F/e' },
      { title: 'CPU-s/10k F/e' },
      { title: 'gen CPU-s/10k F/e' },
      { title: 'peak RSS MiB F/e' },
    ],
    rows.map((row) => {
      const { flotilla, etcd, failed } = cells(row);
      return [
        `${row.id}${failed}`,
        rate(flotilla.median.opsPerSecond),
        rate(etcd.median.opsPerSecond),
        ratioText(row.ratios.opsPerSecond),
        `${figure(flotilla.median.p50Ms, 2)} / ${figure(etcd.median.p50Ms, 2)}`,
        `${figure(flotilla.median.p99Ms, 1)} / ${figure(etcd.median.p99Ms, 1)}`,
        `${figure(flotilla.median.serverCpuSecondsPer10kOps, 2)} / ${figure(etcd.median.serverCpuSecondsPer10kOps, 2)}`,
        `${figure(flotilla.median.generatorCpuSecondsPer10kOps, 2)} / ${figure(etcd.median.generatorCpuSecondsPer10kOps, 2)}`,
        `${rssMiB(flotilla)} / ${rssMiB(etcd)}`,
      ];
    }),
  );
}

export function markdownTable(report: Report): string {
  const lines = [
    `Flotilla vs etcd ${report.machine.etcd.replace(/^etcd Version: /, '')}, 3 members each, same machine ` +
      `(${report.machine.cpuCount} × ${report.machine.cpuModel}), same run; medians of ${report.options.rounds} ` +
      `round(s) of ${report.options.measureMs / 1000} s; commit ${report.git.commit.slice(0, 12)}` +
      `${report.git.dirty ? ' (dirty)' : ''}, ${report.startedAt}.`,
    '',
    '| row | Flotilla ops/s | etcd ops/s | ratio | p50 ms F/e | p99 ms F/e | CPU-s/10k ops F/e | peak RSS MiB F/e |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of [...report.rows, ...(report.pipeline ?? [])]) {
    const { flotilla, etcd, failed } = cells(row);
    lines.push(
      `| ${row.title} (${row.unit})${failed} | ${rate(flotilla.median.opsPerSecond)} | ${rate(etcd.median.opsPerSecond)} | ` +
        `${ratioText(row.ratios.opsPerSecond)} | ${figure(flotilla.median.p50Ms, 2)} / ${figure(etcd.median.p50Ms, 2)} | ` +
        `${figure(flotilla.median.p99Ms, 1)} / ${figure(etcd.median.p99Ms, 1)} | ` +
        `${figure(flotilla.median.serverCpuSecondsPer10kOps, 2)} / ${figure(etcd.median.serverCpuSecondsPer10kOps, 2)} | ` +
        `${rssMiB(flotilla)} / ${rssMiB(etcd)} |`,
    );
  }
  lines.push('', ...NOTES);
  return `${lines.join('\n')}\n${extrasMarkdown(report)}`;
}

const NOTES = [
  'Ratio: Flotilla ops/s divided by etcd ops/s. CPU-s/10k ops: user+system CPU seconds of the three server',
  'processes per 10,000 operations inside the measured window. Peak RSS: the largest member, sampled every 200 ms.',
  'Watch fan-out: one operation is one event delivered; its latency is from the put being acknowledged to the',
  'last watcher receiving the event (0 when every watcher had it before the acknowledgement).',
];

function readyText(figures: TimingFigures | null): string {
  return figures === null ? 'failed' : figures.readyMs.toFixed(0);
}

function extrasMarkdown(report: Report): string {
  const lines: string[] = [];
  const memory = report.memory;
  if (memory !== null) {
    const max = (values: readonly number[]) => (Math.max(...values) / BYTES_PER_MIB).toFixed(0);
    lines.push(
      '',
      `| ${formatCount(memory.keys)} keys (16 B keys, ${memory.valueBytes} B values) | Flotilla | etcd | ratio |`,
      '| --- | ---: | ---: | ---: |',
      `| load, keys/s | ${formatCount(memory.systems.flotilla.load.keysPerSecond)} | ${formatCount(memory.systems.etcd.load.keysPerSecond)} | ${ratioText(round(memory.systems.flotilla.load.keysPerSecond / memory.systems.etcd.load.keysPerSecond, 2))} |`,
      `| RSS per node, max MiB | ${max(memory.systems.flotilla.rssBytesPerNode)} | ${max(memory.systems.etcd.rssBytesPerNode)} | ${ratioText(memory.ratios.rssBytesMax)} |`,
      `| data dir per node, max MiB | ${max(memory.systems.flotilla.dataDirBytesPerNode)} | ${max(memory.systems.etcd.dataDirBytesPerNode)} | ${ratioText(memory.ratios.dataDirBytesMax)} |`,
    );
  }
  for (const [name, section] of [
    ['follower restart until it serves the latest revision, ms', report.restart],
    ['new member until it reaches the leader revision, ms', report.memberAdd],
  ] as const) {
    if (section === null) continue;
    lines.push(
      '',
      `| ${name} | Flotilla | etcd | ratio |`,
      '| --- | ---: | ---: | ---: |',
      `| time | ${readyText(section.systems.flotilla)} | ${readyText(section.systems.etcd)} | ${ratioText(section.ratio)} |`,
    );
  }
  for (const [section, message] of Object.entries(report.sectionErrors)) {
    // The first line only: a catch-up failure carries the member's log after it (kept in the JSON).
    lines.push('', `Section ${section} failed: ${message.split('\n')[0]}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export interface WrittenFiles {
  readonly json: string;
  readonly latest: readonly string[];
}

export function writeReport(dir: string, report: Report, stamp: string): WrittenFiles {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `${stamp}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  fs.writeFileSync(json, text);
  const latest = [
    [path.join(dir, 'latest.json'), text],
    [path.join(dir, 'latest.md'), markdownTable(report)],
    [path.join(dir, 'latest.svg'), throughputChart(report.rows, report.machine.etcd)],
  ] as const;
  for (const [file, content] of latest) fs.writeFileSync(file, content);
  return { json, latest: latest.map(([file]) => file) };
}
