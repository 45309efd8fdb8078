// The harness's handle on the load generator process: forks dist/bench/compare/loadgen-main.js,
// sends it one job at a time, and calls back at the measured window's edges. A job that does not
// answer in time kills the generator; the next job starts a fresh one.

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, JobResult, LoadJob } from './loadgen-jobs.js';

const MAIN = fileURLToPath(new URL('./loadgen-main.js', import.meta.url));
const START_TIMEOUT_MS = 15_000;
const KILL_GRACE_MS = 2_000;

export interface WindowHooks {
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
}

export class LoadGenerator {
  private child: ChildProcess | null = null;
  private readonly listeners = new Set<(message: ChildMessage) => void>();
  private readonly exitListeners = new Set<(reason: string) => void>();

  /** The generator's pid, starting it if needed. */
  async pid(): Promise<number> {
    const child = await this.ensureStarted();
    if (child.pid === undefined) throw new Error('load generator has no pid');
    return child.pid;
  }

  /** Runs one job; rejects if the generator fails, dies, or takes longer than `timeoutMs`. */
  async run(job: LoadJob, timeoutMs: number, hooks: WindowHooks = {}): Promise<JobResult> {
    const child = await this.ensureStarted();
    return new Promise<JobResult>((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(onMessage);
        this.exitListeners.delete(onExit);
        outcome();
      };
      const onMessage = (message: ChildMessage) => {
        if (message.type === 'window')
          (message.phase === 'start' ? hooks.onWindowStart : hooks.onWindowEnd)?.();
        else if (message.type === 'result') finish(() => resolve(message.result));
        else if (message.type === 'failed')
          finish(() => reject(new Error(`load generator: ${message.message}`)));
      };
      const onExit = (reason: string) => finish(() => reject(new Error(`load generator ${reason}`)));
      const timer = setTimeout(() => {
        finish(() => reject(new Error(`load generator job ${job.kind} took longer than ${timeoutMs} ms`)));
        void this.stop();
      }, timeoutMs);
      this.listeners.add(onMessage);
      this.exitListeners.add(onExit);
      child.send({ type: 'run', job });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  private async ensureStarted(): Promise<ChildProcess> {
    if (this.child !== null) return this.child;
    const child = fork(MAIN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child = child;
    child.on('message', (message: ChildMessage) => {
      for (const listener of [...this.listeners]) listener(message);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      for (const listener of [...this.exitListeners]) listener(`exited (code ${code}, signal ${signal})`);
    });
    await new Promise<void>((resolve, reject) => {
      const done = (outcome: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(onReady);
        this.exitListeners.delete(onExit);
        outcome();
      };
      const timer = setTimeout(
        () => done(() => reject(new Error('load generator did not start'))),
        START_TIMEOUT_MS,
      );
      const onReady = (message: ChildMessage) => {
        if (message.type === 'ready') done(resolve);
      };
      const onExit = (reason: string) =>
        done(() => reject(new Error(`load generator ${reason} while starting`)));
      this.listeners.add(onReady);
      this.exitListeners.add(onExit);
    });
    return child;
  }
}
