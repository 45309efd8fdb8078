// Extra sections that are not throughput rows: (b) memory and disk with a million keys, (c) time
// for a stopped follower to restart and serve a read at the latest revision, (d) time for a new
// member (Cluster.MemberAdd, then started with --initial-cluster-state=existing) to catch up.
// Each runs on Flotilla and on etcd in turn; both clusters keep the data of the sections before.

import { memberStatus, serializableRevision } from './admin.js';
import { type BenchCluster, SYSTEMS, type SystemName } from './clusters.js';
import type { LoadGenerator } from './loadgen-client.js';
import type { KeySpace } from './loadgen-jobs.js';
import type { CompareOptions } from './options.js';
import { pollUntil } from './poll.js';
import { type PreloadFigures, preload } from './preload.js';
import { directoryAllocatedBytes, rssBytes } from './proc-stats.js';
import type { Progress } from './progress.js';
import type { Clusters } from './rounds.js';
import { ratio } from './summary.js';

/** Keys of the memory section: 16 bytes each ('m' and 15 digits), as in bench:storage. */
const MILLION_KEY_DIGITS = 15;
const MILLION_KEY_PREFIX = 'm';
/** Bound on a member coming back or catching up; a million keys may take a while to apply. */
const CATCH_UP_TIMEOUT_MS = 600_000;
const CATCH_UP_POLL_MS = 20;
/** How much of a member's log goes into a catch-up failure message. */
const MEMBER_LOG_TAIL_CHARS = 3_000;
const BYTES_PER_MIB = 1024 * 1024;

export interface MemoryFigures {
  readonly load: PreloadFigures;
  readonly rssBytesPerNode: readonly number[];
  readonly dataDirBytesPerNode: readonly number[];
}

export interface MemorySection {
  readonly keys: number;
  readonly valueBytes: number;
  readonly systems: Readonly<Record<SystemName, MemoryFigures>>;
  readonly ratios: { readonly rssBytesMax: number | null; readonly dataDirBytesMax: number | null };
}

export interface TimingFigures {
  readonly member: string;
  /** The leader's revision the member had to reach. */
  readonly revision: string;
  readonly stopMs?: number;
  readonly readyMs: number;
}

export interface TimingSection {
  /** null for a system where the measurement failed (see errors). */
  readonly systems: Readonly<Record<SystemName, TimingFigures | null>>;
  readonly errors: Readonly<Partial<Record<SystemName, string>>>;
  readonly ratio: number | null;
}

function mib(bytes: number): string {
  return `${(bytes / BYTES_PER_MIB).toFixed(0)} MiB`;
}

export async function memorySection(
  clusters: Clusters,
  generator: LoadGenerator,
  options: CompareOptions,
  progress: Progress,
): Promise<MemorySection> {
  const keys: KeySpace = {
    prefix: MILLION_KEY_PREFIX,
    digits: MILLION_KEY_DIGITS,
    first: 0,
    count: options.millionKeys,
  };
  const systems = {} as Record<SystemName, MemoryFigures>;
  for (const system of SYSTEMS) {
    progress.status(`loading ${options.millionKeys.toLocaleString('en-US')} keys into ${system}`);
    const cluster = clusters[system];
    const load = await preload(cluster, generator, keys, options.valueBytes);
    const members = await cluster.members();
    const rssBytesPerNode = members.map((member) => rssBytes(member.pid));
    const dataDirBytesPerNode = members.map((member) => directoryAllocatedBytes(member.dataDir));
    systems[system] = { load, rssBytesPerNode, dataDirBytesPerNode };
    progress.line(
      `memory ${system}: ${keys.count.toLocaleString('en-US')} keys in ${load.seconds.toFixed(1)} s ` +
        `(${Math.round(load.keysPerSecond).toLocaleString('en-US')} keys/s); RSS ${rssBytesPerNode.map(mib).join(' / ')}; ` +
        `data dir ${dataDirBytesPerNode.map(mib).join(' / ')}`,
    );
  }
  const max = (values: readonly number[]) => Math.max(...values);
  return {
    keys: keys.count,
    valueBytes: options.valueBytes,
    systems,
    ratios: {
      rssBytesMax: ratio(max(systems.flotilla.rssBytesPerNode), max(systems.etcd.rssBytesPerNode)),
      dataDirBytesMax: ratio(
        max(systems.flotilla.dataDirBytesPerNode),
        max(systems.etcd.dataDirBytesPerNode),
      ),
    },
  };
}

/** Polls a member's serializable reads until they see `revision`; returns the milliseconds taken. */
async function waitCaughtUp(
  cluster: BenchCluster,
  index: number,
  revision: bigint,
  startedMs: number,
): Promise<number> {
  try {
    await pollUntil(
      `${cluster.system} member ${index + 1} to reach revision ${revision}`,
      { timeoutMs: CATCH_UP_TIMEOUT_MS, intervalMs: CATCH_UP_POLL_MS, fatal: () => cluster.deathReason() },
      async () => ((await serializableRevision(cluster.address(index))) >= revision ? true : undefined),
    );
  } catch (error) {
    // The member's own log says what it was doing instead (receiving a snapshot, replaying, ...).
    const tail = cluster.outputTail(index, MEMBER_LOG_TAIL_CHARS);
    throw new Error(`${(error as Error).message}\n--- last output of the member ---\n${tail}`);
  }
  return performance.now() - startedMs;
}

async function restartFollower(cluster: BenchCluster): Promise<TimingFigures> {
  const leader = await cluster.leaderIndex();
  const follower = leader === 0 ? 1 : 0;
  const revision = (await memberStatus(cluster.address(leader))).revision;
  const stopStartedMs = performance.now();
  await cluster.stopMember(follower);
  const stopMs = performance.now() - stopStartedMs;
  const startedMs = performance.now();
  cluster.restartMember(follower);
  const readyMs = await waitCaughtUp(cluster, follower, revision, startedMs);
  await cluster.waitReady();
  return { member: `${follower + 1}`, revision: revision.toString(), stopMs, readyMs };
}

async function addMember(cluster: BenchCluster): Promise<TimingFigures> {
  const leader = await cluster.leaderIndex();
  const revision = (await memberStatus(cluster.address(leader))).revision;
  const startedMs = performance.now();
  const index = await cluster.addMember();
  const readyMs = await waitCaughtUp(cluster, index, revision, startedMs);
  return { member: `${index + 1}`, revision: revision.toString(), readyMs };
}

async function timingSection(
  name: string,
  clusters: Clusters,
  progress: Progress,
  measure: (cluster: BenchCluster) => Promise<TimingFigures>,
): Promise<TimingSection> {
  const systems: Record<SystemName, TimingFigures | null> = { flotilla: null, etcd: null };
  const errors: Partial<Record<SystemName, string>> = {};
  // Each system on its own: one failing must not cost the other's figure.
  for (const system of SYSTEMS) {
    progress.status(`${name} on ${system}`);
    try {
      const figures = await measure(clusters[system]);
      systems[system] = figures;
      const stop = figures.stopMs === undefined ? '' : `stopped in ${figures.stopMs.toFixed(0)} ms, `;
      progress.line(
        `${name} ${system}: ${stop}serving revision ${figures.revision} after ${figures.readyMs.toFixed(0)} ms`,
      );
    } catch (error) {
      errors[system] = (error as Error).message;
      progress.line(`${name} ${system} FAILED: ${(error as Error).message}`);
    }
  }
  return { systems, errors, ratio: ratio(systems.flotilla?.readyMs ?? null, systems.etcd?.readyMs ?? null) };
}

export function restartSection(clusters: Clusters, progress: Progress): Promise<TimingSection> {
  return timingSection('restart follower', clusters, progress, restartFollower);
}

export function memberAddSection(clusters: Clusters, progress: Progress): Promise<TimingSection> {
  return timingSection('add member', clusters, progress, addMember);
}
