// A real single-node etcd for tests: loopback only, fresh data directory, free ports, and a stop()
// that always cleans up. Tests that need etcd call etcdSkipReason() for their `skip` option: locally a
// missing binary skips with a message, in CI (process.env.CI set) it does not skip, so startEtcd()
// fails the test — TESTING.md §3: "in CI a missing binary is a failure, not a skip".

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePortPair, LOOPBACK_HOST } from './ports.js';

export const ETCD_BIN = process.env.FLOTILLA_ETCD_BIN ?? '/usr/bin/etcd';

/** How long etcd may take to elect itself and answer /health (usually ~0.4 s). */
const READY_TIMEOUT_MS = 20_000;
const READY_POLL_INTERVAL_MS = 25;
/** How long stop() waits after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 3_000;
/** Attempts at picking ports before giving up (a port can be taken between probe and bind). */
const START_ATTEMPTS_MAX = 5;
/** Keep this much of etcd's stderr for error messages. */
const STDERR_TAIL_BYTES = 8_192;

export interface EtcdProcess {
  /** host:port of the client (gRPC) listener. */
  readonly address: string;
  readonly clientUrl: string;
  readonly dataDir: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export function etcdAvailable(): boolean {
  try {
    fs.accessSync(ETCD_BIN, fs.constants.X_OK);
    return true;
  } catch {
    // Not executable or missing: that is exactly the answer we are after.
    return false;
  }
}

/** A `skip` value for node:test: a reason string locally when etcd is missing, false otherwise. */
export function etcdSkipReason(): string | false {
  if (etcdAvailable()) return false;
  if (process.env.CI) return false; // in CI, run and fail loudly in startEtcd
  return `etcd not found at ${ETCD_BIN} (install Debian package etcd-server, or set FLOTILLA_ETCD_BIN); skipping`;
}

class AddressInUseError extends Error {}

export async function startEtcd(name = 'n'): Promise<EtcdProcess> {
  if (!etcdAvailable()) {
    throw new Error(
      `etcd binary not found or not executable at ${ETCD_BIN}${process.env.CI ? ' (required in CI)' : ''}`,
    );
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS_MAX; attempt++) {
    try {
      return await startOnce(name);
    } catch (error) {
      if (!(error instanceof AddressInUseError)) throw error;
      lastError = error;
    }
  }
  throw new Error(
    `etcd could not bind free ports after ${START_ATTEMPTS_MAX} attempts: ${String(lastError)}`,
  );
}

/** tmpfs makes etcd's fsyncs cheap; fall back to the ordinary temp dir where there is none. */
function scratchRoot(): string {
  const shm = '/dev/shm';
  try {
    fs.accessSync(shm, fs.constants.W_OK);
    return shm;
  } catch {
    // No writable /dev/shm (e.g. macOS): the OS temp dir works, only slower.
    return os.tmpdir();
  }
}

async function startOnce(name: string): Promise<EtcdProcess> {
  const [clientPort, peerPort] = await freePortPair();
  const dataDir = fs.mkdtempSync(path.join(scratchRoot(), 'flotilla-etcd-'));
  const clientUrl = `http://${LOOPBACK_HOST}:${clientPort}`;
  const peerUrl = `http://${LOOPBACK_HOST}:${peerPort}`;
  const args = [
    ['--name', name],
    ['--data-dir', dataDir],
    ['--listen-client-urls', clientUrl],
    ['--advertise-client-urls', clientUrl],
    ['--listen-peer-urls', peerUrl],
    ['--initial-advertise-peer-urls', peerUrl],
    ['--initial-cluster', `${name}=${peerUrl}`],
    ['--logger', 'zap'],
    ['--log-level', 'error'],
  ].flat();
  const child = spawn(ETCD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });

  const stop = once(async () => {
    await terminate(child, exited);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  try {
    await waitReady(clientUrl, () => {
      if (spawnError) return `spawn failed: ${spawnError.message}`;
      if (child.exitCode !== null || child.signalCode !== null) {
        return `exited with ${child.exitCode ?? child.signalCode}`;
      }
      return undefined;
    });
  } catch (error) {
    await stop();
    if (/address already in use/.test(stderrTail)) throw new AddressInUseError(stderrTail);
    throw new Error(
      `etcd did not become ready: ${(error as Error).message}\n--- etcd stderr ---\n${stderrTail}`,
    );
  }
  assertPid(child);
  return {
    address: `${LOOPBACK_HOST}:${clientPort}`,
    clientUrl,
    dataDir,
    pid: child.pid,
    stop,
  };
}

function assertPid(child: ChildProcess): asserts child is ChildProcess & { pid: number } {
  if (child.pid === undefined) throw new Error('etcd child has no pid');
}

/** Polls GET /health until it says healthy (a leader exists), the process dies, or time runs out. */
async function waitReady(clientUrl: string, deathReason: () => string | undefined): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    const dead = deathReason();
    if (dead !== undefined) throw new Error(dead);
    try {
      const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = await response.text();
      if (response.ok && /"health":\s*"true"/.test(body)) return;
      lastProblem = `HTTP ${response.status}: ${body}`;
    } catch (error) {
      // Connection refused while etcd is still starting: keep polling until the deadline.
      lastProblem = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_INTERVAL_MS));
  }
  throw new Error(`not healthy after ${READY_TIMEOUT_MS} ms (${lastProblem})`);
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_GRACE_MS);
  });
  const stillRunning = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (stillRunning) {
    child.kill('SIGKILL');
    await exited;
  }
}

function once(body: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= body();
    return running;
  };
}
