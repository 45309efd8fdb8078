// Real Flotilla clusters for tests: each member is a separate `flotilla serve` process on
// loopback ports with its own data directory. Members can be killed with real signals and
// restarted on the same ports and data. Readiness is awaited by polling gRPC, never by sleeping.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdClient } from './grpc-client.js';
import { freePort, freePortPair, LOOPBACK_HOST } from './ports.js';

export const BIN = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));
/** Bound on waiting for a cluster to answer and elect a leader. */
export const CLUSTER_READY_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 50;
const STOP_GRACE_MS = 3_000;
const OUTPUT_TAIL_CHARS = 20_000;

export interface MemberSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** Set when the cluster was prepared with `{ metrics: true }`: serves /metrics and the dashboard. */
  readonly metricsPort?: number;
}

export interface ClusterOptions {
  /** Give every member a --listen-metrics-urls port (observability tests). */
  readonly metrics?: boolean;
  /** Added to every member's environment (e.g. FLOTILLA_SNAPSHOT_COUNT, which restart() can override). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface RunningMember extends MemberSpec, TrackedProcess {}

function clientAddress(member: MemberSpec): string {
  return `${LOOPBACK_HOST}:${member.clientPort}`;
}

/**
 * The snapshot point indexes of a member's snapshot files (`member/snap/<index>-<term>.snap`, hex);
 * 1 is the bootstrap snapshot.
 */
export function snapshotIndexes(dataDir: string): number[] {
  return readdirSync(join(dataDir, 'member', 'snap'))
    .filter((name) => name.endsWith('.snap'))
    .map((name) => Number.parseInt(name.slice(0, 16), 16));
}

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  );
}

export class FlotillaCluster {
  readonly members: RunningMember[];
  private readonly root: string;
  private readonly extraArgs: readonly string[];
  private readonly env: NodeJS.ProcessEnv;

  private constructor(
    root: string,
    specs: MemberSpec[],
    extraArgs: readonly string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.root = root;
    this.extraArgs = extraArgs;
    this.env = env;
    this.members = specs.map((spec) => ({
      ...spec,
      process: null,
      exited: Promise.resolve(null),
      output: '',
    }));
  }

  /** Picks ports and data directories for `size` members without starting them. */
  static async prepare(
    size: number,
    extraArgs: readonly string[] = [],
    options: ClusterOptions = {},
  ): Promise<FlotillaCluster> {
    const root = mkdtempSync(join(tmpdir(), 'flotilla-test-'));
    const specs: MemberSpec[] = [];
    for (let i = 0; i < size; i++) {
      const [clientPort, peerPort] = await freePortPair();
      const metricsPort = options.metrics === true ? await freePort() : undefined;
      specs.push({ name: `m${i + 1}`, clientPort, peerPort, dataDir: join(root, `m${i + 1}`), metricsPort });
    }
    return new FlotillaCluster(root, specs, extraArgs, options.env);
  }

  /** Starts `size` members and waits until every one answers and a leader exists. */
  static async start(
    size: number,
    extraArgs: readonly string[] = [],
    options: ClusterOptions = {},
  ): Promise<FlotillaCluster> {
    const cluster = await FlotillaCluster.prepare(size, extraArgs, options);
    await cluster.startAll();
    return cluster;
  }

  async startAll(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) this.spawnMember(i);
    await this.waitReady();
  }

  /** The flags naming this cluster's members (for `flotilla snapshot restore`). */
  clusterFlags(index: number): string[] {
    const member = this.members[index];
    const initialCluster = this.members
      .map((m) => `${m.name}=http://${LOOPBACK_HOST}:${m.peerPort}`)
      .join(',');
    return [
      `--name=${member.name}`,
      `--data-dir=${member.dataDir}`,
      `--initial-advertise-peer-urls=http://${LOOPBACK_HOST}:${member.peerPort}`,
      `--listen-peer-urls=http://${LOOPBACK_HOST}:${member.peerPort}`,
      `--initial-cluster=${initialCluster}`,
    ];
  }

  get endpoints(): string[] {
    return this.members.map(clientAddress);
  }

  address(index: number): string {
    return clientAddress(this.members[index]);
  }

  /**
   * Picks ports and a data dir for one more member (not started). Add it to the cluster with
   * `etcdctl member add`, then `restart(index, 'existing')` starts it.
   */
  async addMemberSpec(): Promise<number> {
    const [clientPort, peerPort] = await freePortPair();
    const name = `m${this.members.length + 1}`;
    this.members.push({
      name,
      clientPort,
      peerPort,
      dataDir: join(this.root, name),
      process: null,
      exited: Promise.resolve(null),
      output: '',
    });
    return this.members.length - 1;
  }

  /** Base URL of a member's metrics listener (needs `{ metrics: true }`). */
  metricsUrl(index: number): string {
    const port = this.members[index].metricsPort;
    if (port === undefined) throw new Error('this cluster was prepared without metrics ports');
    return `http://${LOOPBACK_HOST}:${port}`;
  }

  peerUrl(index: number): string {
    return `http://${LOOPBACK_HOST}:${this.members[index].peerPort}`;
  }

  private spawnMember(index: number, state: 'new' | 'existing' = 'new', env: NodeJS.ProcessEnv = {}): void {
    const member = this.members[index];
    const initialCluster = this.members
      .map((m) => `${m.name}=http://${LOOPBACK_HOST}:${m.peerPort}`)
      .join(',');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        `--name=${member.name}`,
        `--data-dir=${member.dataDir}`,
        `--listen-client-urls=http://${LOOPBACK_HOST}:${member.clientPort}`,
        `--advertise-client-urls=http://${LOOPBACK_HOST}:${member.clientPort}`,
        `--listen-peer-urls=http://${LOOPBACK_HOST}:${member.peerPort}`,
        `--initial-advertise-peer-urls=http://${LOOPBACK_HOST}:${member.peerPort}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        ...(member.metricsPort === undefined
          ? []
          : [`--listen-metrics-urls=http://${LOOPBACK_HOST}:${member.metricsPort}`]),
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.env, ...env } },
    );
    trackMemberProcess(member, child, OUTPUT_TAIL_CHARS);
  }

  /** Every running member answers Status, and they agree on one leader. */
  async waitReady(timeoutMs = CLUSTER_READY_TIMEOUT_MS): Promise<string> {
    return waitForAgreedLeader(
      'a leader on every running member',
      this.members,
      (member) => new EtcdClient(clientAddress(member)),
      timeoutMs,
    );
  }

  /** Index of the member that currently leads, by asking it. */
  async leaderIndex(): Promise<number> {
    const leader = await this.waitReady();
    for (let i = 0; i < this.members.length; i++) {
      if (this.members[i].process === null) continue;
      const client = new EtcdClient(this.address(i));
      try {
        const status = await client.status();
        if (!('error' in status) && String(status.response.header?.member_id) === leader) return i;
      } finally {
        client.close();
      }
    }
    throw new Error('no member claims to be the leader');
  }

  /** Sends a real signal; for SIGKILL, waits for the process to be gone. */
  async kill(index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const member = this.members[index];
    if (member.process === null) return;
    member.process.kill(signal);
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      await member.exited;
      member.process = null;
    }
  }

  /** Restarts a stopped member on the same ports and data directory; `env` adds to its environment. */
  restart(index: number, state: 'new' | 'existing' = 'new', env: NodeJS.ProcessEnv = {}): void {
    if (this.members[index].process !== null) throw new Error(`member ${index} is still running`);
    this.spawnMember(index, state, env);
  }

  async stop(): Promise<void> {
    await stopMembers(this.members);
    rmSync(this.root, { recursive: true, force: true });
  }

  describe(): string {
    return this.members.map((m) => `--- ${m.name} ---\n${m.output}`).join('\n');
  }
}

/** What the shared helpers below need of a member process, whichever cluster started it. */
/** What a test cluster keeps of a member's process. */
export interface TrackedProcess {
  process: ChildProcess | null;
  exited: Promise<number | null>;
  output: string;
}

/**
 * Makes `child` the member's process: keeps the tail of its output (enough to explain a failure,
 * bounded in memory) and resolves `exited` with its exit code.
 */
export function trackMemberProcess(member: TrackedProcess, child: ChildProcess, tailChars: number): void {
  member.process = child;
  member.output = '';
  const keep = (chunk: Buffer) => {
    member.output = (member.output + chunk.toString()).slice(-tailChars);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  member.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export interface MemberProcess {
  readonly name: string;
  process: ChildProcess | null;
  exited: Promise<number | null>;
  output: string;
}

/**
 * Waits until every running member answers Status and all name the same leader; resolves with its
 * id. A member that has exited fails the wait at once, with its output.
 */
export function waitForAgreedLeader<M extends MemberProcess>(
  what: string,
  members: readonly M[],
  clientFor: (member: M) => EtcdClient,
  timeoutMs = CLUSTER_READY_TIMEOUT_MS,
): Promise<string> {
  return waitFor(what, timeoutMs, async () => {
    let leader: string | undefined;
    for (const member of members) {
      if (member.process === null) continue;
      if (member.process.exitCode !== null) {
        throw new Error(`member ${member.name} exited with ${member.process.exitCode}:\n${member.output}`);
      }
      const client = clientFor(member);
      try {
        const status = await client.status();
        if ('error' in status) return undefined;
        const seen = String(status.response.leader);
        if (seen === '0' || (leader !== undefined && leader !== seen)) return undefined;
        leader = seen;
      } finally {
        client.close();
      }
    }
    return leader;
  });
}

/** SIGTERM each running member, SIGKILL after STOP_GRACE_MS, and wait for it to exit. */
export async function stopMembers(members: readonly MemberProcess[]): Promise<void> {
  for (const member of members) {
    const child = member.process;
    if (child === null || child.exitCode !== null) continue;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await member.exited;
    clearTimeout(timer);
    member.process = null;
  }
}
