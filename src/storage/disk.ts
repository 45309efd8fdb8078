// The disk seam: every file operation the storage layer performs goes through `Disk`, so the
// simulator can substitute `SimDisk` (sim-disk.ts), which loses unsynced data on crash, tears
// writes and fails fsyncs. The calls are synchronous: the WAL is fast because one write and one
// fsync cover a whole batch (group commit), not because each call is asynchronous.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

/** An open file. Offsets and sizes are bytes. */
export interface DiskFile {
  readonly path: string;
  /** Current size, including bytes written but not yet synced. */
  size(): number;
  /** Writes at the current end of the file. */
  append(bytes: Uint8Array): void;
  writeAt(bytes: Uint8Array, offsetBytes: number): void;
  /** Reads up to `lengthBytes` (fewer only at the end of the file). */
  read(offsetBytes: number, lengthBytes: number): Uint8Array;
  /** Makes every write so far durable. Returns the fsync latency in (real or simulated) ms. */
  sync(): number;
  /**
   * The same on a worker thread, so the caller's event loop keeps serving while the disk syncs.
   * Optional: a disk without it is synced with sync().
   */
  syncAsync?(done: (error: Error | null, latencyMs: number) => void): void;
  /** Cuts or extends the file; durable after the next `sync()`. */
  truncate(sizeBytes: number): void;
  /**
   * Optional: makes the file at least `sizeBytes` long on disk (reading as zeros) without moving
   * its end: `size()` and where `append` writes stay as they were. Appends inside the reserved
   * length do not change the file's size, so their fsync has no size change to journal. A disk
   * without it simply grows the file with each append.
   */
  reserve?(sizeBytes: number): void;
  close(): void;
}

export type OpenMode =
  /** Create a new file; fails if it exists. The name is durable only after `syncDir`. */
  | 'create'
  /** Open an existing file for reading and writing. */
  | 'existing';

export interface Disk {
  open(filePath: string, mode: OpenMode): DiskFile;
  readFile(filePath: string): Uint8Array;
  exists(filePath: string): boolean;
  fileSize(filePath: string): number;
  /** Names (not paths) of the entries in `dir`, sorted. */
  list(dir: string): string[];
  /** Creates `dir` and its parents if missing. */
  mkdir(dir: string): void;
  /** Atomically replaces `to`; durable only after `syncDir` of the directory. */
  rename(from: string, to: string): void;
  /** Durable only after `syncDir`. */
  unlink(filePath: string): void;
  /** Makes creations, renames and unlinks in `dir` durable. Returns the latency in ms. */
  syncDir(dir: string): number;
}

/** The real disk, on node:fs synchronous calls. */
export class NodeDisk implements Disk {
  open(filePath: string, mode: OpenMode): DiskFile {
    // 'wx+': exclusive create, so a name collision is an error rather than a silent overwrite.
    const fd = fs.openSync(filePath, mode === 'create' ? 'wx+' : 'r+');
    return new NodeFile(filePath, fd);
  }

  readFile(filePath: string): Uint8Array {
    const buffer = fs.readFileSync(filePath);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  exists(filePath: string): boolean {
    return fs.existsSync(filePath);
  }

  fileSize(filePath: string): number {
    return fs.statSync(filePath).size;
  }

  list(dir: string): string[] {
    return fs.readdirSync(dir).sort();
  }

  mkdir(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
  }

  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }

  unlink(filePath: string): void {
    fs.unlinkSync(filePath);
  }

  syncDir(dir: string): number {
    const start = performance.now();
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return performance.now() - start;
  }
}

class NodeFile implements DiskFile {
  /** Where the content ends: appends go here (the file may be longer: see reserve). */
  private sizeBytes: number;

  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {
    this.sizeBytes = fs.fstatSync(fd).size;
  }

  size(): number {
    return this.sizeBytes;
  }

  append(bytes: Uint8Array): void {
    // Positional writes rather than O_APPEND: on Linux, O_APPEND makes pwrite ignore its
    // offset, and writeAt must work on the same descriptor.
    this.writeAt(bytes, this.sizeBytes);
  }

  writeAt(bytes: Uint8Array, offsetBytes: number): void {
    let written = 0;
    while (written < bytes.length) {
      written += fs.writeSync(this.fd, bytes, written, bytes.length - written, offsetBytes + written);
    }
    this.sizeBytes = Math.max(this.sizeBytes, offsetBytes + bytes.length);
  }

  read(offsetBytes: number, lengthBytes: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(lengthBytes, this.sizeBytes - offsetBytes)));
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(this.fd, out, done, out.length - done, offsetBytes + done);
      if (n === 0) break;
      done += n;
    }
    return done === out.length ? out : out.subarray(0, done);
  }

  sync(): number {
    const start = performance.now();
    // fdatasync: flushes data and the size change, skipping timestamps we never read.
    fs.fdatasyncSync(this.fd);
    return performance.now() - start;
  }

  syncAsync(done: (error: Error | null, latencyMs: number) => void): void {
    const start = performance.now();
    fs.fdatasync(this.fd, (error) => done(error, performance.now() - start));
  }

  truncate(sizeBytes: number): void {
    fs.ftruncateSync(this.fd, sizeBytes);
    this.sizeBytes = sizeBytes;
  }

  reserve(sizeBytes: number): void {
    // Never below the content. A sparse extension: no data is written, so it costs one metadata
    // update now instead of a size change journaled by every later fdatasync.
    if (sizeBytes > this.sizeBytes) fs.ftruncateSync(this.fd, sizeBytes);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Joins path segments the way the disks expect (POSIX separators inside SimDisk). */
export function joinPath(dir: string, name: string): string {
  return path.join(dir, name);
}
