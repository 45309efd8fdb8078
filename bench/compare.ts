// `npm run bench`: Flotilla next to etcd on the same machine, in the same run, driven by the same
// load generator. Starts a 3-member Flotilla cluster and a 3-member etcd cluster (/usr/bin/etcd),
// preloads keys, runs every row on both (alternating which goes first), then the extra sections,
// and writes JSON, a Markdown table and an SVG chart. See bench/compare/ for the pieces and
// `node dist/bench/compare.js --help` for the flags. Exits non-zero if any row failed.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ETCD_BIN, etcdAvailable } from '../test/support/etcd.js';
import { BenchCluster, SYSTEMS, type SystemName } from './compare/clusters.js';
import {
  type MemorySection,
  memberAddSection,
  memorySection,
  restartSection,
  type TimingSection,
} from './compare/extras.js';
import { LoadGenerator } from './compare/loadgen-client.js';
import { type CompareOptions, parseCompareOptions, USAGE } from './compare/options.js';
import { type PreloadFigures, preload } from './compare/preload.js';
import { Progress } from './compare/progress.js';
import { describeGit, describeMachine, printRows, type Report, writeReport } from './compare/report.js';
import { type Clusters, runRows } from './compare/rounds.js';
import { type RowSummary, rowFailed } from './compare/summary.js';
import { mainKeys, mainRows, pipelineRows, rangeKeys } from './compare/workloads.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const EXIT_INTERRUPTED = 130;

/** Everything started is stopped here, once, however the run ends. */
class Resources {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-compare-'));
  readonly generator = new LoadGenerator();
  readonly clusters: Partial<Record<SystemName, BenchCluster>> = {};
  private released: Promise<void> | undefined;

  constructor() {
    // If the harness dies without reaching release() (an uncaught error), no member may outlive it.
    process.once('exit', () => {
      for (const cluster of Object.values(this.clusters)) cluster.killNow();
      fs.rmSync(this.root, { recursive: true, force: true });
    });
  }

  release(): Promise<void> {
    this.released ??= (async () => {
      await this.generator.stop();
      await Promise.all(Object.values(this.clusters).map((cluster) => cluster.stop()));
      fs.rmSync(this.root, { recursive: true, force: true });
    })();
    return this.released;
  }
}

async function startClusters(resources: Resources, options: CompareOptions): Promise<Clusters> {
  const started = await Promise.allSettled(
    SYSTEMS.map((system) => BenchCluster.start(system, resources.root, options.snapshotCount)),
  );
  started.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') resources.clusters[SYSTEMS[i]!] = outcome.value;
  });
  const failure = started.find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  return resources.clusters as Clusters;
}

async function preloadAll(
  clusters: Clusters,
  resources: Resources,
  options: CompareOptions,
  progress: Progress,
) {
  const figures: Record<string, Record<string, PreloadFigures>> = {};
  for (const system of SYSTEMS) {
    progress.status(`preloading ${system}`);
    figures[system] = {
      keys: await preload(clusters[system], resources.generator, mainKeys(options), options.valueBytes),
      range: await preload(clusters[system], resources.generator, rangeKeys(options), options.valueBytes),
    };
    progress.line(
      `preloaded ${system}: ${options.keys.toLocaleString('en-US')} + ${options.rangeKeys.toLocaleString('en-US')} keys ` +
        `(${Math.round(figures[system].keys!.keysPerSecond).toLocaleString('en-US')} keys/s)`,
    );
  }
  return figures;
}

/** Runs an extra section; a failure is recorded and reported, and the run goes on. */
async function section<T>(
  name: string,
  errors: Record<string, string>,
  progress: Progress,
  body: () => Promise<T>,
) {
  try {
    return await body();
  } catch (error) {
    errors[name] = (error as Error).message;
    progress.line(`section ${name} FAILED: ${(error as Error).message}`);
    return null;
  }
}

function selectedRows(options: CompareOptions) {
  const rows = mainRows(options);
  if (options.rows === null) return rows;
  const unknown = options.rows.filter((id) => !rows.some((row) => row.id === id));
  if (unknown.length > 0)
    throw new Error(`unknown row(s) ${unknown.join(', ')}; rows: ${rows.map((r) => r.id).join(', ')}`);
  return rows.filter((row) => options.rows!.includes(row.id));
}

function outputDir(options: CompareOptions): string {
  if (options.outDir !== null) return path.resolve(options.outDir);
  // A quick run is a smoke test: it must not replace the published latest.* results.
  if (options.quick) return fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-bench-quick-'));
  return DEFAULT_RESULTS_DIR;
}

interface ExtraResults {
  readonly pipeline: RowSummary[] | null;
  readonly memory: MemorySection | null;
  readonly restart: TimingSection | null;
  readonly memberAdd: TimingSection | null;
  readonly errors: Record<string, string>;
}

/** The extra sections, in an order where each leaves the data the next one needs (a million keys). */
async function runExtras(
  clusters: Clusters,
  resources: Resources,
  options: CompareOptions,
  progress: Progress,
): Promise<ExtraResults> {
  const errors: Record<string, string> = {};
  const generator = resources.generator;
  const skipped = async () => null;
  const pipeline = await section('pipeline', errors, progress, () =>
    options.pipeline ? runRows(pipelineRows(), clusters, generator, options, progress) : skipped(),
  );
  const memory = await section('memory', errors, progress, () =>
    options.million ? memorySection(clusters, generator, options, progress) : skipped(),
  );
  const restart = await section('restart', errors, progress, () =>
    options.restart ? restartSection(clusters, progress) : skipped(),
  );
  const memberAdd = await section('member-add', errors, progress, () =>
    options.memberAdd ? memberAddSection(clusters, progress) : skipped(),
  );
  for (const [name, timing] of [
    ['restart', restart],
    ['member-add', memberAdd],
  ] as const) {
    for (const [system, message] of Object.entries(timing?.errors ?? {}))
      errors[`${name} ${system}`] = message;
  }
  return { pipeline, memory, restart, memberAdd, errors };
}

/** Prints the tables, writes the files; returns the exit code. */
function finish(report: Report, options: CompareOptions): number {
  const allRows = [...report.rows, ...(report.pipeline ?? [])];
  printRows(
    `Flotilla vs etcd, medians of ${options.rounds} round(s), ${options.measureMs / 1000} s each`,
    report.rows,
  );
  if (report.pipeline !== null) printRows('Puts by pipeline depth', report.pipeline);
  const written = writeReport(outputDir(options), report, report.startedAt.replace(/[:.]/g, '-'));
  console.log(`\nwrote ${written.json}\n      ${written.latest.join('\n      ')}`);
  console.log(`total ${report.durationSeconds.toFixed(1)} s`);
  for (const row of allRows.filter(rowFailed)) {
    const { flotilla, etcd } = row.systems;
    console.error(
      `FAILED ${row.id}: flotilla: ${flotilla.firstError ?? 'ok'}; etcd: ${etcd.firstError ?? 'ok'}`,
    );
  }
  return report.failedRows.length > 0 || Object.keys(report.sectionErrors).length > 0 ? 1 : 0;
}

async function run(resources: Resources, options: CompareOptions, progress: Progress): Promise<number> {
  const startedAt = new Date();
  progress.status('starting a Flotilla cluster and an etcd cluster');
  const clusters = await startClusters(resources, options);
  progress.line(`clusters up after ${progress.elapsedSeconds().toFixed(1)} s (data under ${resources.root})`);
  const members = { flotilla: await clusters.flotilla.members(), etcd: await clusters.etcd.members() };
  const preloaded = await preloadAll(clusters, resources, options, progress);
  const rows = await runRows(selectedRows(options), clusters, resources.generator, options, progress);
  const { pipeline, memory, restart, memberAdd, errors } = await runExtras(
    clusters,
    resources,
    options,
    progress,
  );
  progress.stop();
  return finish(
    {
      startedAt: startedAt.toISOString(),
      durationSeconds: progress.elapsedSeconds(),
      machine: describeMachine(),
      git: describeGit(REPO_ROOT),
      commandLine: [process.argv0, ...process.argv.slice(1)],
      options,
      clusters: members,
      preload: preloaded,
      rows,
      pipeline,
      memory,
      restart,
      memberAdd,
      sectionErrors: errors,
      failedRows: [...rows, ...(pipeline ?? [])].filter(rowFailed).map((row) => row.id),
    },
    options,
  );
}

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const options = parseCompareOptions(process.argv.slice(2));
  if (!etcdAvailable()) throw new Error(`etcd not found at ${ETCD_BIN} (Debian package etcd-server)`);
  const progress = new Progress();
  const resources = new Resources();
  process.once('SIGINT', () => {
    progress.line('interrupted: stopping both clusters and the load generator');
    void resources.release().finally(() => process.exit(EXIT_INTERRUPTED));
  });
  try {
    return await run(resources, options, progress);
  } finally {
    progress.stop();
    await resources.release();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
