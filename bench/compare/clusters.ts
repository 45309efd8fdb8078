// The two clusters under test: three Flotilla members (`node bin/flotilla.js serve`) and three etcd
// members (/usr/bin/etcd, default settings), each member a separate process on loopback ports with
// its own data directory under one scratch root. Readiness is polled (every running member answers
// Status and names the same leader), never slept for.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ETCD_BIN } from '../../test/support/etcd.js';
import { BIN as FLOTILLA_BIN } from '../../test/support/flotilla.js';
import { freePortPair, LOOPBACK_HOST } from '../../test/support/ports.js';
import { memberAdd, memberStatus } from './admin.js';
import { MemberProcess } from './member-process.js';
import { pollUntil } from './poll.js';

export type SystemName = 'flotilla' | 'etcd';
export const SYSTEMS: readonly SystemName[] = ['flotilla', 'etcd'];
export const CLUSTER_SIZE = 3;
/** Bound on a fresh cluster electing a leader and answering on every member. */
export const CLUSTER_READY_TIMEOUT_MS = 30_000;
const ETCD_CLUSTER_TOKEN = 'flotilla-bench';

interface MemberSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
}

export interface MemberView {
  readonly name: string;
  readonly pid: number;
  /** host:port of the gRPC client listener. */
  readonly address: string;
  readonly leader: boolean;
  readonly dataDir: string;
}

export class BenchCluster {
  private readonly specs: MemberSpec[] = [];
  private readonly processes: MemberProcess[] = [];

  private constructor(
    readonly system: SystemName,
    private readonly root: string,
    /** --snapshot-count for every member, or null for the system's default. */
    private readonly snapshotCount: number | null,
  ) {}

  /** Starts CLUSTER_SIZE members under `root/<system>` and waits until they agree on a leader. */
  static async start(system: SystemName, root: string, snapshotCount: number | null): Promise<BenchCluster> {
    const cluster = new BenchCluster(system, path.join(root, system), snapshotCount);
    fs.mkdirSync(cluster.root, { recursive: true });
    for (let i = 0; i < CLUSTER_SIZE; i++) await cluster.addSpec();
    try {
      for (let i = 0; i < CLUSTER_SIZE; i++) cluster.spawn(i, 'new');
      await cluster.waitReady();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get size(): number {
    return this.specs.length;
  }

  address(index: number): string {
    return `${LOOPBACK_HOST}:${this.specs[index]!.clientPort}`;
  }

  isRunning(index: number): boolean {
    return this.processes[index]!.running;
  }

  pid(index: number): number {
    return this.processes[index]!.pid;
  }

  /** Every running member, with which one leads now (asked, not remembered). */
  async members(): Promise<MemberView[]> {
    const leader = await this.leaderIndex();
    const views: MemberView[] = [];
    this.specs.forEach((spec, i) => {
      if (!this.isRunning(i)) return;
      views.push({
        name: spec.name,
        pid: this.pid(i),
        address: this.address(i),
        leader: i === leader,
        dataDir: spec.dataDir,
      });
    });
    return views;
  }

  /** Every running member answers Status and names the same, non-zero leader. Returns its id. */
  waitReady(timeoutMs = CLUSTER_READY_TIMEOUT_MS): Promise<string> {
    const what = `a leader on every ${this.system} member`;
    return pollUntil(what, { timeoutMs, fatal: () => this.deathReason() }, async () => {
      let leader: string | undefined;
      for (let i = 0; i < this.size; i++) {
        if (!this.isRunning(i)) continue;
        const status = await memberStatus(this.address(i));
        if (status.leaderId === '0' || (leader !== undefined && leader !== status.leaderId)) return undefined;
        leader = status.leaderId;
      }
      return leader;
    });
  }

  /** Index of the member that leads now, by asking every running member. */
  async leaderIndex(): Promise<number> {
    const leaderId = await this.waitReady();
    for (let i = 0; i < this.size; i++) {
      if (!this.isRunning(i)) continue;
      if ((await memberStatus(this.address(i))).memberId === leaderId) return i;
    }
    throw new Error(`no ${this.system} member claims to be the leader ${leaderId}`);
  }

  /** The last `chars` characters a member wrote to stdout and stderr. */
  outputTail(index: number, chars: number): string {
    return this.processes[index]!.output.slice(-chars);
  }

  /** Why a member that should run does not, or null when all that should run do. */
  deathReason(): string | null {
    for (const member of this.processes) {
      const death = member.deathReason();
      if (death !== null) return death;
    }
    return null;
  }

  async stopMember(index: number): Promise<void> {
    await this.processes[index]!.stop();
  }

  /** Starts a stopped member again on the same ports and data directory. */
  restartMember(index: number): void {
    this.spawn(index, 'new');
  }

  /**
   * Cluster.MemberAdd through the leader, then starts the new member with
   * --initial-cluster-state=existing. Returns its index; the caller waits for it to catch up.
   */
  async addMember(): Promise<number> {
    const index = await this.addSpec();
    const leader = await this.leaderIndex();
    await memberAdd(this.address(leader), this.peerUrl(index));
    this.spawn(index, 'existing');
    return index;
  }

  /** Stops every member (SIGTERM, then SIGKILL after a bound). Data stays until the root is removed. */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map((member) => member.stop()));
  }

  /** SIGKILL to every member at once (from a process 'exit' handler, where nothing can be awaited). */
  killNow(): void {
    for (const member of this.processes) member.killNow();
  }

  private async addSpec(): Promise<number> {
    const [clientPort, peerPort] = await freePortPair();
    const name = `${this.system === 'flotilla' ? 'f' : 'e'}${this.specs.length + 1}`;
    this.specs.push({ name, clientPort, peerPort, dataDir: path.join(this.root, name) });
    this.processes.push(new MemberProcess(`${this.system} ${name}`));
    return this.specs.length - 1;
  }

  private peerUrl(index: number): string {
    return `http://${LOOPBACK_HOST}:${this.specs[index]!.peerPort}`;
  }

  private spawn(index: number, state: 'new' | 'existing'): void {
    const spec = this.specs[index]!;
    const initialCluster = this.specs.map((member, i) => `${member.name}=${this.peerUrl(i)}`).join(',');
    const clientUrl = `http://${LOOPBACK_HOST}:${spec.clientPort}`;
    const shared = {
      name: spec.name,
      'data-dir': spec.dataDir,
      'listen-client-urls': clientUrl,
      'advertise-client-urls': clientUrl,
      'listen-peer-urls': this.peerUrl(index),
      'initial-advertise-peer-urls': this.peerUrl(index),
      'initial-cluster': initialCluster,
      'initial-cluster-state': state,
      ...(this.snapshotCount === null ? {} : { 'snapshot-count': String(this.snapshotCount) }),
    };
    if (this.system === 'flotilla') {
      const catchUp =
        this.snapshotCount === null
          ? {}
          : {
              'experimental-snapshot-catchup-entries': String(
                Math.max(1, Math.floor(this.snapshotCount / 2)),
              ),
            };
      const flags = Object.entries({ ...shared, ...catchUp }).map(([flag, value]) => `--${flag}=${value}`);
      this.processes[index]!.start(process.execPath, [FLOTILLA_BIN, 'serve', ...flags]);
    } else {
      const all = { ...shared, 'initial-cluster-token': ETCD_CLUSTER_TOKEN };
      this.processes[index]!.start(
        ETCD_BIN,
        Object.entries(all).flatMap(([flag, value]) => [`--${flag}`, value]),
      );
    }
  }
}
