// What the servers and the load generator cost, read from Linux's /proc: CPU time (utime + stime
// of /proc/<pid>/stat, in clock ticks) and resident memory (VmRSS of /proc/<pid>/status), plus
// the size of a data directory on disk. Reading /proc of another process needs no cooperation from
// it, so etcd (Go) and Flotilla (Node) are measured exactly the same way.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Fields 14 and 15 of /proc/<pid>/stat (1-based), counted after the ")" that ends the command name. */
const UTIME_FIELD_AFTER_COMM = 11;
const STIME_FIELD_AFTER_COMM = 12;
const BYTES_PER_KIB = 1024;
const BYTES_PER_BLOCK = 512;
/** How often the RSS sampler looks at every process. */
export const RSS_SAMPLE_INTERVAL_MS = 200;

let clockTicksPerSecondCache: number | undefined;

/** The kernel's USER_HZ (`getconf CLK_TCK`), almost always 100 on Linux. */
export function clockTicksPerSecond(): number {
  if (clockTicksPerSecondCache !== undefined) return clockTicksPerSecondCache;
  const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
  const ticks = Number(text);
  if (!Number.isSafeInteger(ticks) || ticks <= 0)
    throw new Error(`getconf CLK_TCK printed ${JSON.stringify(text)}`);
  clockTicksPerSecondCache = ticks;
  return ticks;
}

/** User plus system CPU time the process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[UTIME_FIELD_AFTER_COMM]);
  const stime = Number(fields[STIME_FIELD_AFTER_COMM]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`cannot parse /proc/${pid}/stat: ${stat}`);
  return (utime + stime) / clockTicksPerSecond();
}

/** Resident set size now, in bytes. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`no VmRSS in /proc/${pid}/status (process gone or a zombie?)`);
  return Number(match[1]) * BYTES_PER_KIB;
}

/** Samples every process's RSS until stopped; reports the peak per process. */
export class RssSampler {
  private readonly peakBytes: number[];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: readonly number[]) {
    this.peakBytes = pids.map(() => 0);
    this.sample();
    this.timer = setInterval(() => this.sample(), RSS_SAMPLE_INTERVAL_MS);
  }

  /** Takes a last sample and returns the peak RSS of each process, in the order given. */
  stop(): number[] {
    clearInterval(this.timer);
    this.sample();
    return [...this.peakBytes];
  }

  private sample(): void {
    this.pids.forEach((pid, i) => {
      try {
        this.peakBytes[i] = Math.max(this.peakBytes[i]!, rssBytes(pid));
      } catch (error) {
        // A process that died mid-row is reported by the row itself (its requests fail); the
        // sampler keeps the peak seen so far rather than hiding that failure behind its own.
        if (
          (error as NodeJS.ErrnoException).code !== 'ENOENT' &&
          (error as NodeJS.ErrnoException).code !== 'ESRCH'
        ) {
          throw error;
        }
      }
    });
  }
}

/** Blocks allocated by every file under `dir`, recursively (what `du -s` shows), in bytes. */
export function directoryAllocatedBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += directoryAllocatedBytes(full);
    else if (entry.isFile()) total += fs.statSync(full).blocks * BYTES_PER_BLOCK;
  }
  return total;
}
