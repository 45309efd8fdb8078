// Test-only fault hooks for the fault lab (never enabled in a real deployment): when the
// environment variable FLOTILLA_TEST_HOOKS names a JSON file, the member re-reads it every
// POLL_MS and applies it:
//   { "clockOffsetMs": 0,      added to the lease clock (clock skew: leases expire early/late)
//     "tickSlowdown": 1,       Raft ticks come this many times slower (a slow clock)
//     "fsyncDelayMs": 0,       each WAL fsync takes this much longer (a slow disk)
//     "failFsync": false }     the next WAL fsync fails: the member stops, as on a real EIO
// A missing or unreadable file means no faults.

import { readFileSync } from 'node:fs';

const POLL_MS = 100;

export interface HookState {
  readonly clockOffsetMs: number;
  readonly tickSlowdown: number;
  readonly fsyncDelayMs: number;
  readonly failFsync: boolean;
}

const NO_FAULTS: HookState = { clockOffsetMs: 0, tickSlowdown: 1, fsyncDelayMs: 0, failFsync: false };

export class FsyncFailedError extends Error {
  constructor() {
    super('fsync failed (test hook): stopping, as after a real EIO the page cache cannot be trusted');
    this.name = 'FsyncFailedError';
  }
}

export class TestHooks {
  state: HookState = NO_FAULTS;
  private readonly timer: NodeJS.Timeout;
  private failureConsumed = false;

  private constructor(private readonly file: string) {
    this.reload();
    this.timer = setInterval(() => this.reload(), POLL_MS);
    this.timer.unref();
  }

  /** The hooks named by FLOTILLA_TEST_HOOKS, or null (always null outside the fault lab). */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): TestHooks | null {
    const file = env.FLOTILLA_TEST_HOOKS;
    return file === undefined || file === '' ? null : new TestHooks(file);
  }

  private reload(): void {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<HookState>;
      this.state = { ...NO_FAULTS, ...parsed };
      if (!this.state.failFsync) this.failureConsumed = false;
    } catch {
      // No file (or half-written): no faults. The lab writes it atomically, so this is brief.
      this.state = NO_FAULTS;
    }
  }

  /** Called before every WAL fsync. */
  beforeFsync(): void {
    if (this.state.failFsync && !this.failureConsumed) {
      this.failureConsumed = true;
      throw new FsyncFailedError();
    }
    if (this.state.fsyncDelayMs > 0) {
      // A slow disk blocks the caller, exactly like a slow fdatasync would.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.state.fsyncDelayMs);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
