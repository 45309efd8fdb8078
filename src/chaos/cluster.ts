// The lab's cluster: real `flotilla serve` processes on loopback, each behind a LinkProxy on its
// advertised peer port, so the lab decides which member hears which. Members are killed with
// SIGKILL, paused with SIGSTOP and resumed with SIGCONT — real signals on real processes.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeId } from '../raft/types.js';
import { memberIdFor } from '../server/ids.js';
import { LabClient } from './client.js';
import { LinkProxy, type LinkRule } from './proxy.js';

const BIN = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));
const HOST = '127.0.0.1';
const TOKEN = 'flotilla-chaos';
/** Bound on waiting for a member to answer after (re)start. */
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

export interface LabMember {
  readonly index: number;
  readonly name: string;
  id: NodeId;
  /** Removed from the cluster by the membership nemesis: stopped, and no longer expected to converge. */
  removed: boolean;
  /** Joins an existing cluster when (re)started (it was added at runtime). */
  joined: boolean;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly proxyPort: number;
  readonly dataDir: string;
  /** The member's test-hook file (FLOTILLA_TEST_HOOKS): clock skew and disk faults. */
  readonly hooksFile: string;
  readonly proxy: LinkProxy;
  process: ChildProcess | null;
  paused: boolean;
  log: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class LabCluster {
  private constructor(
    readonly members: LabMember[],
    private readonly root: string,
    private readonly unsafe: string | null,
  ) {}

  static async start(size: number, root: string, unsafe: string | null): Promise<LabCluster> {
    mkdirSync(root, { recursive: true });
    const members: LabMember[] = [];
    for (let index = 0; index < size; index++) {
      const [clientPort, peerPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
      const id = memberIdFor([`http://${HOST}:${proxyPort}`], TOKEN);
      const proxy = new LinkProxy({
        listenHost: HOST,
        listenPort: proxyPort,
        targetHost: HOST,
        targetPort: peerPort,
        targetMemberId: id,
      });
      await proxy.start();
      members.push({
        index,
        name: `n${index + 1}`,
        id,
        clientPort,
        peerPort,
        proxyPort,
        dataDir: join(root, `n${index + 1}`),
        hooksFile: join(root, `hooks-n${index + 1}.json`),
        proxy,
        removed: false,
        joined: false,
        process: null,
        paused: false,
        log: '',
      });
    }
    const cluster = new LabCluster(members, root, unsafe);
    for (const member of members) cluster.spawn(member);
    await cluster.waitForLeader(READY_TIMEOUT_MS);
    return cluster;
  }

  address(member: LabMember): string {
    return `${HOST}:${member.clientPort}`;
  }

  private spawn(member: LabMember): void {
    const initialCluster = this.members
      .filter((m) => !m.removed)
      .map((m) => `${m.name}=http://${HOST}:${m.proxyPort}`)
      .join(',');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        `--name=${member.name}`,
        `--data-dir=${member.dataDir}`,
        `--listen-client-urls=http://${HOST}:${member.clientPort}`,
        `--listen-peer-urls=http://${HOST}:${member.peerPort}`,
        `--initial-advertise-peer-urls=http://${HOST}:${member.proxyPort}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${TOKEN}`,
        `--initial-cluster-state=${member.joined ? 'existing' : 'new'}`,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, FLOTILLA_UNSAFE: this.unsafe ?? '', FLOTILLA_TEST_HOOKS: member.hooksFile },
      },
    );
    const keep = (chunk: Buffer) => {
      member.log = (member.log + chunk.toString()).slice(-50_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    member.process = child;
    member.paused = false;
  }

  running(): LabMember[] {
    return this.members.filter((m) => m.process !== null && !m.paused && !m.removed);
  }

  /** Members that belong to the cluster (not removed). */
  active(): LabMember[] {
    return this.members.filter((m) => !m.removed);
  }

  /**
   * Adds a member at runtime: `etcdctl member add --learner`, then starts it with
   * --initial-cluster-state existing. Returns it once added (it catches up on its own).
   */
  async addLearner(via: LabMember): Promise<LabMember | null> {
    const [clientPort, peerPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    const index = this.members.length;
    const client = new LabClient(this.address(via), 5_000);
    const added = await client.memberAdd([`http://${HOST}:${proxyPort}`], true);
    client.close();
    if (added.kind !== 'ok') return null;
    const id = BigInt(String((added.response.member as { ID: string }).ID));
    const proxy = new LinkProxy({
      listenHost: HOST,
      listenPort: proxyPort,
      targetHost: HOST,
      targetPort: peerPort,
      targetMemberId: id,
    });
    await proxy.start();
    const member: LabMember = {
      index,
      name: `n${index + 1}`,
      id,
      removed: false,
      joined: true,
      clientPort,
      peerPort,
      proxyPort,
      dataDir: join(this.root, `n${index + 1}`),
      hooksFile: join(this.root, `hooks-n${index + 1}.json`),
      proxy,
      process: null,
      paused: false,
      log: '',
    };
    this.members.push(member);
    this.spawn(member);
    return member;
  }

  /** `member remove`, then stop the removed member's process. */
  async remove(member: LabMember, via: LabMember): Promise<boolean> {
    const client = new LabClient(this.address(via), 5_000);
    const removed = await client.memberRemove(member.id);
    client.close();
    if (removed.kind !== 'ok') return false;
    member.removed = true;
    await this.kill(member);
    return true;
  }

  /** SIGKILL: nothing is flushed, nothing says goodbye. */
  async kill(member: LabMember): Promise<void> {
    const child = member.process;
    if (child === null) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      // Already gone on its own (a failed fsync): its 'exit' event has fired and will not again.
      member.process = null;
      member.paused = false;
      return;
    }
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (member.paused) child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    member.process = null;
    member.paused = false;
  }

  restart(member: LabMember): void {
    if (member.process === null && !member.removed) this.spawn(member);
  }

  pause(member: LabMember): void {
    if (member.process === null || member.paused) return;
    member.process.kill('SIGSTOP');
    member.paused = true;
  }

  resume(member: LabMember): void {
    if (member.process === null || !member.paused) return;
    member.process.kill('SIGCONT');
    member.paused = false;
  }

  /** Sets the member's test hooks (written atomically; the member re-reads them within 100 ms). */
  setHooks(
    member: LabMember,
    hooks: { clockOffsetMs?: number; tickSlowdown?: number; fsyncDelayMs?: number; failFsync?: boolean },
  ): void {
    const temporary = `${member.hooksFile}.tmp`;
    writeFileSync(temporary, JSON.stringify(hooks));
    renameSync(temporary, member.hooksFile);
  }

  /** True once the member's process has exited on its own (e.g. after a failed fsync). */
  exited(member: LabMember): boolean {
    return (
      member.process !== null && (member.process.exitCode !== null || member.process.signalCode !== null)
    );
  }

  /** Forgets a process that died on its own, so restart() starts it again. */
  reap(member: LabMember): void {
    if (this.exited(member)) member.process = null;
  }

  /** Traffic from `from` to `to` follows `rule` (one direction). */
  setLink(from: LabMember, to: LabMember, rule: LinkRule): void {
    to.proxy.setRule(from.id, rule);
  }

  /** Cuts every link between the two sides, both ways. */
  partition(sideA: readonly LabMember[], sideB: readonly LabMember[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.setLink(a, b, { kind: 'drop' });
        this.setLink(b, a, { kind: 'drop' });
      }
    }
  }

  healNetwork(): void {
    for (const member of this.members) member.proxy.healAll();
  }

  async promote(member: LabMember, via: LabMember): Promise<boolean> {
    const client = new LabClient(this.address(via), 5_000);
    const result = await client.memberPromote(member.id);
    client.close();
    return result.kind === 'ok';
  }

  /** The member that a running member says leads, if they agree. */
  async leader(): Promise<LabMember | null> {
    for (const member of this.running()) {
      const client = new LabClient(this.address(member), 1_000);
      try {
        const status = await client.status();
        if (status.kind !== 'ok') continue;
        const leaderId = BigInt(String(status.response.leader));
        return this.members.find((m) => m.id === leaderId) ?? null;
      } finally {
        client.close();
      }
    }
    return null;
  }

  async waitForLeader(timeoutMs: number): Promise<LabMember> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.leader();
      if (leader !== null && leader.process !== null && !leader.paused) return leader;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  async stop(keepData: boolean): Promise<void> {
    for (const member of this.members) {
      if (member.process !== null) await this.kill(member);
      await member.proxy.close();
      // For a post-mortem: the tail of each member's log and its proxy's counters.
      if (keepData) {
        const stats = JSON.stringify(member.proxy.stats());
        writeFileSync(join(this.root, `${member.name}.log`), `${member.log}\nproxy: ${stats}\n`);
      }
    }
    if (!keepData) rmSync(this.root, { recursive: true, force: true });
  }
}
