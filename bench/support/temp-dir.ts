// A scratch directory under os.tmpdir() that is removed however the benchmark section ends.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export async function withTempDir<T>(prefix: string, body: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface DiskUsage {
  /** Sum of the files' lengths (what `ls -l` shows). */
  readonly apparentBytes: number;
  /** Sum of the blocks the files occupy (what `du` shows; smaller when a file is sparse). */
  readonly allocatedBytes: number;
  readonly files: readonly string[];
}

/** Disk usage of the regular files directly inside `dir` (an LMDB environment has no subdirectories). */
export function diskUsage(dir: string): DiskUsage {
  let apparentBytes = 0;
  let allocatedBytes = 0;
  const files: string[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const stat = fs.statSync(path.join(dir, name));
    if (!stat.isFile()) continue;
    files.push(name);
    apparentBytes += stat.size;
    // st_blocks counts 512-byte units on Linux and macOS regardless of the file system's block size.
    allocatedBytes += stat.blocks * 512;
  }
  return { apparentBytes, allocatedBytes, files };
}
