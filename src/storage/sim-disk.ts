// An in-memory disk for the deterministic simulator and for tests. It models what a real disk
// promises and no more:
// - file contents are durable only up to the last `sync()` of that file; `crash()` discards the
//   rest, optionally keeping a random prefix of the unsynced bytes (a torn write);
// - creations, renames and unlinks are durable only after `syncDir()` of their directory;
// - an fsync can be made to fail (it throws, and nothing becomes durable) or to be slow (it
//   reports a simulated latency the caller adds to its simulated clock).
// Directories made by `mkdir` are durable at once: the storage layer creates its directories
// once at startup, and modelling their durability would add noise without finding bugs.
// Randomness comes only from the injected `rng`, so a simulator run replays from its seed.

import * as path from 'node:path';
import type { Disk, DiskFile, OpenMode } from './disk.js';

export class SimDiskError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'SimDiskError';
  }
}

export interface SimDiskStats {
  fileSyncs: number;
  dirSyncs: number;
  writes: number;
  bytesWritten: number;
  crashes: number;
}

export interface CrashOptions {
  /** Keep a random prefix of each file's unsynced appended bytes (a torn write). */
  readonly tornWrites?: boolean;
}

/** One file's bytes: `data[0, length)` is what reads see; the first `syncedLength` bytes are durable. */
class Inode {
  data = new Uint8Array(64);
  length = 0;
  syncedLength = 0;
  /**
   * A copy of the durable bytes, taken lazily when an unsynced write or truncate touches
   * `[0, syncedLength)`; null while the durable bytes are simply a prefix of `data`.
   */
  syncedCopy: Uint8Array | null = null;

  ensureCapacity(bytes: number): void {
    if (bytes <= this.data.length) return;
    let capacity = this.data.length;
    while (capacity < bytes) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }

  /** Called before a mutation of `[fromOffset, …)`: preserves durable bytes it would change. */
  protectSynced(fromOffset: number): void {
    if (this.syncedCopy === null && fromOffset < this.syncedLength) {
      this.syncedCopy = this.data.slice(0, this.syncedLength);
    }
  }

  write(bytes: Uint8Array, offset: number): void {
    this.protectSynced(offset);
    const end = offset + bytes.length;
    this.ensureCapacity(end);
    if (offset > this.length) this.data.fill(0, this.length, offset);
    this.data.set(bytes, offset);
    this.length = Math.max(this.length, end);
  }

  truncate(size: number): void {
    this.protectSynced(size);
    this.ensureCapacity(size);
    if (size > this.length) this.data.fill(0, this.length, size);
    this.length = size;
  }

  sync(): void {
    this.syncedLength = this.length;
    this.syncedCopy = null;
  }

  /** Reverts to the durable bytes, keeping `keepUnsyncedBytes` of an unsynced appended tail. */
  crash(keepUnsyncedBytes: (unsyncedBytes: number) => number): void {
    if (this.syncedCopy !== null) {
      // Unsynced overwrites of durable bytes: roll back to the durable copy (no tearing here;
      // the WAL never overwrites durable bytes except by truncating a torn tail).
      this.data = new Uint8Array(Math.max(64, this.syncedCopy.length));
      this.data.set(this.syncedCopy);
      this.length = this.syncedCopy.length;
    } else {
      const unsynced = Math.max(0, this.length - this.syncedLength);
      this.length = this.syncedLength + (unsynced > 0 ? keepUnsyncedBytes(unsynced) : 0);
    }
    this.syncedLength = this.length;
    this.syncedCopy = null;
  }
}

interface SimDirectory {
  /** What `list` and `open` see now. */
  live: Map<string, Inode>;
  /** What survives a crash: the state at the last `syncDir`. */
  durable: Map<string, Inode>;
}

export class SimDisk implements Disk {
  readonly stats: SimDiskStats = { fileSyncs: 0, dirSyncs: 0, writes: 0, bytesWritten: 0, crashes: 0 };
  /** Simulated latency every fsync reports, in ms (set > 0 to model a slow disk). */
  syncLatencyMs = 0;
  private failingSyncs = 0;
  private readonly dirs = new Map<string, SimDirectory>();
  /** Bumped by `crash()`; handles opened before a crash refuse further use. */
  generation = 0;

  constructor(private readonly rng: () => number) {}

  /** Makes the next `count` fsyncs (file or directory) throw without making anything durable. */
  failNextSyncs(count = 1): void {
    this.failingSyncs += count;
  }

  /** Loses everything not fsynced, as a power failure would. Open handles become unusable. */
  crash(options: CrashOptions = {}): void {
    this.stats.crashes++;
    this.generation++;
    const keep = options.tornWrites ? (unsynced: number) => Math.floor(this.rng() * (unsynced + 1)) : () => 0;
    const inodes = new Set<Inode>();
    for (const dir of this.dirs.values()) {
      dir.live = new Map(dir.durable);
      for (const inode of dir.durable.values()) inodes.add(inode);
    }
    // Iterate in directory order (a Map keeps insertion order) so `rng` draws are deterministic.
    for (const inode of inodes) inode.crash(keep);
  }

  open(filePath: string, mode: OpenMode): DiskFile {
    const { dir, name } = this.locate(filePath);
    let inode = dir.live.get(name);
    if (mode === 'create') {
      if (inode !== undefined) throw new SimDiskError('EEXIST', filePath);
      inode = new Inode();
      dir.live.set(name, inode);
    } else if (inode === undefined) {
      throw new SimDiskError('ENOENT', filePath);
    }
    return new SimFile(this, filePath, inode, this.generation);
  }

  readFile(filePath: string): Uint8Array {
    const inode = this.inode(filePath);
    return inode.data.slice(0, inode.length);
  }

  exists(filePath: string): boolean {
    const dir = this.dirs.get(path.dirname(filePath));
    return dir !== undefined && (dir.live.has(path.basename(filePath)) || this.dirs.has(filePath));
  }

  fileSize(filePath: string): number {
    return this.inode(filePath).length;
  }

  list(dir: string): string[] {
    const directory = this.dirs.get(path.normalize(dir));
    if (directory === undefined) throw new SimDiskError('ENOENT', dir);
    const names = [...directory.live.keys()];
    for (const other of this.dirs.keys()) {
      if (other !== dir && path.dirname(other) === dir) names.push(path.basename(other));
    }
    return names.sort();
  }

  mkdir(dir: string): void {
    let current = path.normalize(dir);
    while (!this.dirs.has(current)) {
      this.dirs.set(current, { live: new Map(), durable: new Map() });
      const parent = path.dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }

  rename(from: string, to: string): void {
    const source = this.locate(from);
    const target = this.locate(to);
    const inode = source.dir.live.get(source.name);
    if (inode === undefined) throw new SimDiskError('ENOENT', from);
    source.dir.live.delete(source.name);
    target.dir.live.set(target.name, inode);
  }

  unlink(filePath: string): void {
    const { dir, name } = this.locate(filePath);
    if (!dir.live.delete(name)) throw new SimDiskError('ENOENT', filePath);
  }

  syncDir(dirPath: string): number {
    const dir = this.dirs.get(path.normalize(dirPath));
    if (dir === undefined) throw new SimDiskError('ENOENT', dirPath);
    this.consumeSyncFailure(dirPath);
    this.stats.dirSyncs++;
    dir.durable = new Map(dir.live);
    return this.syncLatencyMs;
  }

  /** @internal used by SimFile. */
  fileSync(file: SimFile, inode: Inode): number {
    this.consumeSyncFailure(file.path);
    this.stats.fileSyncs++;
    inode.sync();
    return this.syncLatencyMs;
  }

  /** @internal used by SimFile. */
  recordWrite(bytes: number): void {
    this.stats.writes++;
    this.stats.bytesWritten += bytes;
  }

  private consumeSyncFailure(what: string): void {
    if (this.failingSyncs > 0) {
      this.failingSyncs--;
      throw new SimDiskError('EIO', `fsync failed: ${what}`);
    }
  }

  private locate(filePath: string): { dir: SimDirectory; name: string } {
    const dir = this.dirs.get(path.dirname(path.normalize(filePath)));
    if (dir === undefined) throw new SimDiskError('ENOENT', `no directory for ${filePath}`);
    return { dir, name: path.basename(filePath) };
  }

  private inode(filePath: string): Inode {
    const { dir, name } = this.locate(filePath);
    const inode = dir.live.get(name);
    if (inode === undefined) throw new SimDiskError('ENOENT', filePath);
    return inode;
  }
}

class SimFile implements DiskFile {
  private closed = false;

  constructor(
    private readonly disk: SimDisk,
    readonly path: string,
    private readonly inode: Inode,
    private readonly generation: number,
  ) {}

  size(): number {
    this.check();
    return this.inode.length;
  }

  append(bytes: Uint8Array): void {
    this.writeAt(bytes, this.inode.length);
  }

  writeAt(bytes: Uint8Array, offsetBytes: number): void {
    this.check();
    this.inode.write(bytes, offsetBytes);
    this.disk.recordWrite(bytes.length);
  }

  read(offsetBytes: number, lengthBytes: number): Uint8Array {
    this.check();
    const end = Math.min(this.inode.length, offsetBytes + lengthBytes);
    return this.inode.data.slice(Math.min(offsetBytes, end), end);
  }

  sync(): number {
    this.check();
    return this.disk.fileSync(this, this.inode);
  }

  truncate(sizeBytes: number): void {
    this.check();
    this.inode.truncate(sizeBytes);
  }

  close(): void {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new SimDiskError('EBADF', `${this.path} is closed`);
    if (this.generation !== this.disk.generation) {
      throw new SimDiskError('EBADF', `${this.path} was opened before a crash`);
    }
  }
}
