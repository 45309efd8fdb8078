// A real Flotilla cluster with TLS on every client and peer port and both client-cert-auth
// flags on: each member is a `flotilla serve` process on https:// loopback URLs, with a key
// pair issued by a TestCa (tls.ts). Readiness is awaited over gRPC+TLS, never by sleeping.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  BIN,
  stopMembers,
  type TrackedProcess,
  trackMemberProcess,
  waitForAgreedLeader,
} from './flotilla.js';
import { EtcdClient } from './grpc-client.js';
import { freePortPair, LOOPBACK_HOST } from './ports.js';
import type { KeyPair, TestCa } from './tls.js';

/** Members' output kept for the tests, which look for refusal lines in it. */
const OUTPUT_TAIL_CHARS = 100_000;

export interface TlsMember extends TrackedProcess {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** Presented on both ports and when dialling other members. */
  readonly pair: KeyPair;
}

export class TlsCluster {
  readonly members: TlsMember[] = [];
  private clientPairCache: KeyPair | null = null;

  private constructor(
    private readonly root: string,
    /** The cluster's CA: what every member trusts on both ports. */
    readonly ca: TestCa,
    /** More `flotilla serve` flags for every member (e.g. auth settings). */
    private readonly extraFlags: readonly string[],
  ) {}

  /** Starts `size` members, each with a key pair from `ca`, and waits for one agreed leader. */
  static async start(size: number, ca: TestCa, extraFlags: readonly string[] = []): Promise<TlsCluster> {
    const cluster = new TlsCluster(mkdtempSync(join(tmpdir(), 'flotilla-tls-test-')), ca, extraFlags);
    for (let i = 0; i < size; i++) await cluster.addSpec(await ca.issue(`m${i + 1}`));
    for (let i = 0; i < size; i++) cluster.spawn(i, 'new');
    await cluster.waitReady();
    return cluster;
  }

  /** Ports and a data dir for one more member with this key pair (not started). */
  async addSpec(pair: KeyPair): Promise<number> {
    const [clientPort, peerPort] = await freePortPair();
    const name = `m${this.members.length + 1}`;
    this.members.push({
      name,
      clientPort,
      peerPort,
      dataDir: join(this.root, name),
      pair,
      process: null,
      exited: Promise.resolve(null),
      output: '',
    });
    return this.members.length - 1;
  }

  clientUrl(index: number): string {
    return `https://${LOOPBACK_HOST}:${this.members[index].clientPort}`;
  }

  peerUrl(index: number): string {
    return `https://${LOOPBACK_HOST}:${this.members[index].peerPort}`;
  }

  get endpoints(): string {
    return this.members.map((_, i) => this.clientUrl(i)).join(',');
  }

  /** gRPC credentials for a client holding `pair` and trusting the cluster's CA. */
  credentials(pair: KeyPair): grpc.ChannelCredentials {
    return grpc.credentials.createSsl(
      readFileSync(this.ca.cert),
      readFileSync(pair.key),
      readFileSync(pair.cert),
    );
  }

  spawn(index: number, state: 'new' | 'existing'): void {
    const member = this.members[index];
    const initialCluster = this.members.map((m, i) => `${m.name}=${this.peerUrl(i)}`).join(',');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        `--name=${member.name}`,
        `--data-dir=${member.dataDir}`,
        `--listen-client-urls=${this.clientUrl(index)}`,
        `--advertise-client-urls=${this.clientUrl(index)}`,
        `--listen-peer-urls=${this.peerUrl(index)}`,
        `--initial-advertise-peer-urls=${this.peerUrl(index)}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        `--cert-file=${member.pair.cert}`,
        `--key-file=${member.pair.key}`,
        `--trusted-ca-file=${this.ca.cert}`,
        '--client-cert-auth',
        `--peer-cert-file=${member.pair.cert}`,
        `--peer-key-file=${member.pair.key}`,
        `--peer-trusted-ca-file=${this.ca.cert}`,
        '--peer-client-cert-auth',
        ...this.extraFlags,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    trackMemberProcess(member, child, OUTPUT_TAIL_CHARS);
  }

  /** Every running member answers Status over TLS, and they agree on one leader. */
  async waitReady(): Promise<string> {
    const credentials = this.credentials(await this.clientPair());
    return waitForAgreedLeader(
      'a leader on every running TLS member',
      this.members,
      (member) => new EtcdClient(`${LOOPBACK_HOST}:${member.clientPort}`, credentials),
    );
  }

  /** The key pair readiness checks use, from the cluster's CA, made once. */
  async clientPair(): Promise<KeyPair> {
    this.clientPairCache ??= await this.ca.issue('readiness-probe');
    return this.clientPairCache;
  }

  async stop(): Promise<void> {
    await stopMembers(this.members);
    rmSync(this.root, { recursive: true, force: true });
  }

  describe(): string {
    return this.members.map((m) => `--- ${m.name} ---\n${m.output}`).join('\n');
  }
}
