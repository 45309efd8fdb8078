// Patroni-managed PostgreSQL for tests (Debian packages `patroni` and `postgresql`): members on
// loopback ports with data under one temporary directory, Patroni's etcd3 store pointed at given
// etcd (or Flotilla) client addresses. PostgreSQL refuses to run as root, so when the tests run as
// root Patroni runs as the `postgres` user (setpriv execs it in place, so the child's pid is
// Patroni's own and SIGKILL reaches it). stop() stops everything it started, even half-started.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, LOOPBACK_HOST } from './ports.js';

export const PATRONI_BIN = process.env.FLOTILLA_PATRONI_BIN ?? '/usr/bin/patroni';
export const PATRONICTL_BIN = process.env.FLOTILLA_PATRONICTL_BIN ?? '/usr/bin/patronictl';
export const PG_BIN_DIR = process.env.FLOTILLA_PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
const SETPRIV_BIN = '/usr/bin/setpriv';
const RUN_AS_USER = 'postgres';

/** Patroni's timing, small so the scenario stays short: lease TTL, HA loop period, DCS retry bound. */
export const PATRONI_TTL_S = 10;
export const PATRONI_LOOP_WAIT_S = 2;
export const PATRONI_RETRY_TIMEOUT_S = 5;

/** How long a member may take to stop after SIGTERM (Patroni stops PostgreSQL first) before SIGKILL. */
const STOP_GRACE_MS = 15_000;
/** Bound on one patronictl or psql call. */
const COMMAND_TIMEOUT_MS = 15_000;
const LOG_TAIL_BYTES = 4_000;

const executable = (file: string) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false; // missing or not executable: exactly what we are asking
  }
};

function missingBinaries(): string[] {
  const needed = [PATRONI_BIN, PATRONICTL_BIN, `${PG_BIN_DIR}/postgres`, `${PG_BIN_DIR}/psql`];
  if (process.getuid?.() === 0) needed.push(SETPRIV_BIN);
  return needed.filter((file) => !executable(file));
}

/** A `skip` value for node:test: a reason locally when something is missing; in CI, never (fail). */
export function patroniSkipReason(): string | false {
  const missing = missingBinaries();
  if (missing.length === 0 || process.env.CI) return false;
  return `missing ${missing.join(', ')} (install Debian packages patroni and postgresql); skipping`;
}

export interface PatroniMember {
  readonly name: string;
  readonly restPort: number;
  readonly pgPort: number;
  readonly dataDir: string;
  readonly configFile: string;
  readonly logFile: string;
  process: ChildProcess | null;
}

/** One row of `patronictl list -f json`. */
export interface PatroniListRow {
  readonly Member: string;
  readonly Role: string;
  readonly State: string;
  readonly TL?: number;
}

export interface PatroniClusterOptions {
  readonly scope: string;
  readonly size: number;
  /** host:port of each etcd3-API endpoint. */
  readonly dcsHosts: readonly string[];
  readonly synchronousMode: boolean;
}

export class PatroniCluster {
  private constructor(
    readonly root: string,
    readonly members: PatroniMember[],
    private readonly runAs: { uid: number; gid: number } | undefined,
  ) {}

  static async create(options: PatroniClusterOptions): Promise<PatroniCluster> {
    const missing = missingBinaries();
    if (missing.length > 0) {
      throw new Error(`Patroni test needs ${missing.join(', ')}${process.env.CI ? ' (required in CI)' : ''}`);
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-patroni-'));
    const members: PatroniMember[] = [];
    for (let index = 1; index <= options.size; index++) {
      const member: PatroniMember = {
        name: `pg${index}`,
        restPort: await freePort(),
        pgPort: await freePort(),
        dataDir: path.join(root, `data${index}`),
        configFile: path.join(root, `pg${index}.yml`),
        logFile: path.join(root, `pg${index}.log`),
        process: null,
      };
      fs.writeFileSync(member.configFile, patroniConfig(options, member, root));
      members.push(member);
    }
    const runAs = process.getuid?.() === 0 ? userIds(RUN_AS_USER) : undefined;
    if (runAs !== undefined) chownTree(root, runAs.uid, runAs.gid);
    return new PatroniCluster(root, members, runAs);
  }

  start(index: number): void {
    const member = this.members[index];
    const command = this.runAs === undefined ? PATRONI_BIN : SETPRIV_BIN;
    const prefix = this.runAs === undefined ? [] : privilegeDrop(this.runAs);
    const log = fs.openSync(member.logFile, 'a');
    member.process = spawn(command, [...prefix, ...(this.runAs ? [PATRONI_BIN] : []), member.configFile], {
      stdio: ['ignore', log, log],
      // The postgres user may not be able to enter the runner's working directory (a checkout
      // under a mode-700 temp dir): initdb and postgres fail on an unreadable cwd.
      cwd: this.root,
      env: { ...process.env, HOME: this.root, LC_ALL: 'C.UTF-8' },
    });
    fs.closeSync(log);
    // A failed spawn shows in the log and as the member never joining; it must not crash the runner.
    member.process.on('error', (error) =>
      fs.appendFileSync(member.logFile, `spawn failed: ${error.message}\n`),
    );
  }

  /** The postmaster's pid, from its pid file (absent when PostgreSQL is not running). */
  postmasterPid(index: number): number | undefined {
    try {
      const pid = Number(
        fs.readFileSync(path.join(this.members[index].dataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
      );
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined; // no pid file: PostgreSQL is not running here
    }
  }

  /** kill -9 the member's Patroni and its PostgreSQL. */
  killHard(index: number): void {
    const member = this.members[index];
    const postmaster = this.postmasterPid(index);
    member.process?.kill('SIGKILL');
    if (postmaster !== undefined) process.kill(postmaster, 'SIGKILL');
    member.process = null;
  }

  /** `patronictl list` as rows; throws if patronictl fails or prints no table. */
  async list(): Promise<PatroniListRow[]> {
    const stdout = await run(PATRONICTL_BIN, ['-c', this.members[0].configFile, 'list', '-f', 'json']);
    return JSON.parse(stdout) as PatroniListRow[];
  }

  /** One SQL statement through psql on a member; its unaligned, tuples-only output. */
  sql(index: number, query: string): Promise<string> {
    const args = [
      '-h',
      LOOPBACK_HOST,
      '-p',
      String(this.members[index].pgPort),
      '-U',
      'postgres',
      '-d',
      'postgres',
    ];
    return run(`${PG_BIN_DIR}/psql`, [...args, '-X', '-tAq', '-v', 'ON_ERROR_STOP=1', '-c', query]).then(
      (out) => out.trim(),
    );
  }

  /** SIGTERM every Patroni (it stops its PostgreSQL), SIGKILL what is left after a bound, delete the data. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, index) => this.stopMember(index)));
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private async stopMember(index: number): Promise<void> {
    const child = this.members[index].process;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        exited,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS))),
      ]);
      clearTimeout(timer);
      child.kill('SIGKILL');
    }
    this.members[index].process = null;
    const postmaster = this.postmasterPid(index);
    if (postmaster !== undefined) process.kill(postmaster, 'SIGKILL');
  }

  /** The tail of every member's log, for a failure message. */
  describe(): string {
    return this.members
      .map((member) => {
        const log = fs.existsSync(member.logFile) ? fs.readFileSync(member.logFile, 'utf8') : '';
        return `--- ${member.name} ---\n${log.slice(-LOG_TAIL_BYTES)}`;
      })
      .join('\n');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: no such process
  }
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { timeout: COMMAND_TIMEOUT_MS, env: { ...process.env, PGCONNECT_TIMEOUT: '3' } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${path.basename(file)} failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function privilegeDrop(ids: { uid: number; gid: number }): string[] {
  return ['--reuid', String(ids.uid), '--regid', String(ids.gid), '--clear-groups', '--'];
}

function chownTree(directory: string, uid: number, gid: number): void {
  fs.chownSync(directory, uid, gid);
  for (const entry of fs.readdirSync(directory)) fs.chownSync(path.join(directory, entry), uid, gid);
}

function patroniConfig(options: PatroniClusterOptions, member: PatroniMember, root: string): string {
  return `scope: ${options.scope}
name: ${member.name}
log:
  level: INFO
restapi:
  listen: ${LOOPBACK_HOST}:${member.restPort}
  connect_address: ${LOOPBACK_HOST}:${member.restPort}
etcd3:
  hosts: ${options.dcsHosts.join(',')}
watchdog:
  mode: "off"
bootstrap:
  dcs:
    ttl: ${PATRONI_TTL_S}
    loop_wait: ${PATRONI_LOOP_WAIT_S}
    retry_timeout: ${PATRONI_RETRY_TIMEOUT_S}
    maximum_lag_on_failover: 1048576
    synchronous_mode: ${options.synchronousMode}
    postgresql:
      use_pg_rewind: false
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        shared_buffers: 16MB
  initdb:
    - encoding: UTF8
    - no-sync
  pg_hba:
    - local all all trust
    - host replication replicator ${LOOPBACK_HOST}/32 trust
    - host all all ${LOOPBACK_HOST}/32 trust
postgresql:
  listen: ${LOOPBACK_HOST}:${member.pgPort}
  connect_address: ${LOOPBACK_HOST}:${member.pgPort}
  data_dir: ${member.dataDir}
  bin_dir: ${PG_BIN_DIR}
  pgpass: ${path.join(root, `${member.name}.pgpass`)}
  authentication:
    replication:
      username: replicator
      password: replicator
    superuser:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: ${root}
`;
}
