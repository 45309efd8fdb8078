// One server process of a benchmark cluster (a Flotilla or an etcd member): spawned with its
// output piped into a bounded tail (enough to explain a failure), stopped with SIGTERM and, after a
// bound, SIGKILL. Every process the benchmark starts goes through here, so none is left behind.

import { type ChildProcess, spawn } from 'node:child_process';

/** How long a member may take to exit after SIGTERM before it is killed. */
export const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 20_000;

export class MemberProcess {
  private child: ChildProcess | null = null;
  private exitPromise: Promise<void> = Promise.resolve();
  private outputTail = '';
  private spawnError: Error | null = null;

  constructor(readonly label: string) {}

  start(command: string, args: readonly string[]): void {
    if (this.running) throw new Error(`${this.label} is already running`);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.outputTail = '';
    this.spawnError = null;
    const keep = (chunk: Buffer) => {
      this.outputTail = (this.outputTail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('error', (error) => {
      this.spawnError = error;
    });
    this.exitPromise = new Promise((resolve) => child.once('close', () => resolve()));
  }

  get running(): boolean {
    const child = this.child;
    return child !== null && this.spawnError === null && child.exitCode === null && child.signalCode === null;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) throw new Error(`${this.label} is not running`);
    return pid;
  }

  /**
   * Why a process that should be running is not (exit code, signal or spawn error); null while it
   * runs, and null when it was never started or was stopped on purpose.
   */
  deathReason(): string | null {
    if (this.child === null) return null;
    if (this.spawnError !== null) return `${this.label} could not start: ${this.spawnError.message}`;
    if (this.running) return null;
    return `${this.label} exited (code ${this.child.exitCode}, signal ${this.child.signalCode}):\n${this.outputTail}`;
  }

  get output(): string {
    return this.outputTail;
  }

  /** Last resort while the harness itself exits: SIGKILL now, without waiting. */
  killNow(): void {
    if (this.running) this.child?.kill('SIGKILL');
  }

  /** SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves once the process is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    if (this.running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await this.exitPromise;
      clearTimeout(timer);
    }
    this.child = null;
  }
}
