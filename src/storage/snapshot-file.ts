// Snapshot files: the state machine's state at (index, term), saved atomically, checksummed,
// read in chunks to stream to a peer, and installed from chunks received from a peer.
//
// File `<index>-<term>.snap` (16 hex digits each), little-endian:
//   0   8 bytes  magic "FLOSNAP1"
//   8   u32      metadata length M
//   12  M bytes  metadata: index u64 | term u64 | data length u64 |
//                voter count u32 | voters u64… | learner count u32 | learners u64…
//   12+M u32     CRC32C over bytes [8, 12 + M) (the length field and the metadata)
//   16+M D bytes the state machine's data
//   …   u32      CRC32C over the data
// The file size must be exactly 20 + M + D.
//
// Atomicity: write `<name>.tmp`, fsync, rename, fsync the directory. A `.tmp` file (an
// interrupted save or install) is never listed and is removed when the store opens.
// Order with the WAL: save the snapshot file first, then write the WAL's snapshot marker, so a
// marker never points at a missing file; keep at least two snapshots so that a snapshot saved
// just before a crash (marker not yet written) never pushes out the one the marker names.

import { assert } from '../raft/assert.js';
import type { ConfState, NodeId, Snapshot, SnapshotMetadata } from '../raft/types.js';
import { crc32c, crc32cUpdate } from './crc32c.js';
import { type Disk, type DiskFile, joinPath } from './disk.js';
import { SnapshotCorruptError, SnapshotMissingError } from './errors.js';
import { readUint53, WriteBuffer, writeUint53 } from './record.js';

export const SNAPSHOTS_RETAINED_DEFAULT = 5;
export const SNAPSHOT_CHUNK_BYTES_DEFAULT = 1024 * 1024;
/** More members than any sane cluster: a bigger count in a header means corruption. */
const MEMBERS_MAX = 10_000;
const MAGIC = new TextEncoder().encode('FLOSNAP1');
const SNAPSHOT_SUFFIX = '.snap';
const TEMP_SUFFIX = '.tmp';

export interface SnapshotStoreOptions {
  readonly disk: Disk;
  readonly dir: string;
  /** Newest snapshots kept by `prune` (at least 2, see the file comment). */
  readonly snapshotsRetained?: number;
}

export interface SnapshotFileInfo {
  readonly name: string;
  readonly index: number;
  readonly term: number;
}

/** A piece of a snapshot file in transit; `crc` is CRC32C of `bytes`. */
export interface SnapshotChunk {
  readonly offsetBytes: number;
  readonly bytes: Uint8Array;
  readonly crc: number;
  /** Size of the whole file, so the receiver knows when it has everything. */
  readonly fileBytes: number;
}

export function snapshotFileName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}${SNAPSHOT_SUFFIX}`;
}

const NAME_PATTERN = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function parseSnapshotFileName(name: string): SnapshotFileInfo | null {
  const match = NAME_PATTERN.exec(name);
  if (match === null) return null;
  return { name, index: Number.parseInt(match[1], 16), term: Number.parseInt(match[2], 16) };
}

/** Encodes everything before the data: magic, metadata length, metadata, metadata CRC. */
function encodePrefix(metadata: SnapshotMetadata, dataBytes: number): Uint8Array {
  const { voters, learners } = metadata.confState;
  const metaBytes = 24 + 4 + voters.length * 8 + 4 + learners.length * 8;
  const out = new WriteBuffer();
  out.reserve(16 + metaBytes);
  out.bytes.set(MAGIC, 0);
  const view = out.view;
  view.setUint32(8, metaBytes, true);
  writeUint53(view, 12, metadata.index);
  writeUint53(view, 20, metadata.term);
  writeUint53(view, 28, dataBytes);
  let at = 36;
  for (const members of [voters, learners]) {
    view.setUint32(at, members.length, true);
    at += 4;
    for (const id of members) {
      view.setBigUint64(at, id, true);
      at += 8;
    }
  }
  view.setUint32(at, crc32c(out.bytes, 8, at), true);
  out.length = at + 4;
  return out.contents().slice();
}

interface Prefix {
  readonly metadata: SnapshotMetadata;
  readonly dataBytes: number;
  /** Offset of the first data byte. */
  readonly dataOffset: number;
}

/** Parses and verifies the prefix; `read(offset, length)` returns file bytes. */
function decodePrefix(
  file: string,
  fileBytes: number,
  read: (offset: number, length: number) => Uint8Array,
): Prefix {
  if (fileBytes < 16) throw new SnapshotCorruptError(file, `only ${fileBytes} bytes`);
  const head = read(0, 12);
  for (let i = 0; i < MAGIC.length; i++) {
    if (head[i] !== MAGIC[i]) throw new SnapshotCorruptError(file, 'bad magic');
  }
  const metaBytes = new DataView(head.buffer, head.byteOffset, 12).getUint32(8, true);
  if (metaBytes < 32 || 16 + metaBytes > fileBytes)
    throw new SnapshotCorruptError(file, `metadata length ${metaBytes}`);
  const prefix = read(0, 16 + metaBytes);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (crc32c(prefix, 8, 12 + metaBytes) !== view.getUint32(12 + metaBytes, true)) {
    throw new SnapshotCorruptError(file, 'metadata checksum mismatch');
  }
  try {
    const index = readUint53(view, 12);
    const term = readUint53(view, 20);
    const dataBytes = readUint53(view, 28);
    let at = 36;
    const lists: NodeId[][] = [];
    for (let list = 0; list < 2; list++) {
      const count = view.getUint32(at, true);
      at += 4;
      if (count > MEMBERS_MAX || at + count * 8 > 12 + metaBytes) throw new Error(`member count ${count}`);
      const ids: NodeId[] = [];
      for (let i = 0; i < count; i++) ids.push(view.getBigUint64(at + i * 8, true));
      at += count * 8;
      lists.push(ids);
    }
    const confState: ConfState = { voters: lists[0], learners: lists[1] };
    const dataOffset = 16 + metaBytes;
    if (fileBytes !== dataOffset + dataBytes + 4) {
      throw new Error(`file is ${fileBytes} bytes, header says ${dataOffset + dataBytes + 4}`);
    }
    return { metadata: { index, term, confState }, dataBytes, dataOffset };
  } catch (error) {
    if (error instanceof SnapshotCorruptError) throw error;
    throw new SnapshotCorruptError(file, error instanceof Error ? error.message : String(error));
  }
}

/** Verifies a whole file by streaming it; returns its metadata. */
function verifyFile(file: DiskFile, name: string): SnapshotMetadata {
  const fileBytes = file.size();
  const prefix = decodePrefix(name, fileBytes, (offset, length) => file.read(offset, length));
  let crc = 0;
  const dataEnd = prefix.dataOffset + prefix.dataBytes;
  for (let offset = prefix.dataOffset; offset < dataEnd; ) {
    const chunk = file.read(offset, Math.min(SNAPSHOT_CHUNK_BYTES_DEFAULT, dataEnd - offset));
    assert(chunk.length > 0, `short read in ${name}`);
    crc = crc32cUpdate(crc, chunk);
    offset += chunk.length;
  }
  const trailer = file.read(dataEnd, 4);
  if (new DataView(trailer.buffer, trailer.byteOffset, 4).getUint32(0, true) !== crc) {
    throw new SnapshotCorruptError(name, 'data checksum mismatch');
  }
  return prefix.metadata;
}

export class SnapshotStore {
  readonly disk: Disk;
  readonly dir: string;
  readonly snapshotsRetained: number;
  private installs = 0;

  constructor(options: SnapshotStoreOptions) {
    this.disk = options.disk;
    this.dir = options.dir;
    this.snapshotsRetained = options.snapshotsRetained ?? SNAPSHOTS_RETAINED_DEFAULT;
    assert(this.snapshotsRetained >= 2, 'snapshotsRetained must be at least 2');
    this.disk.mkdir(this.dir);
    // Interrupted saves and installs: never renamed, so never acknowledged; safe to drop.
    for (const name of this.disk.list(this.dir)) {
      if (name.endsWith(TEMP_SUFFIX)) this.disk.unlink(joinPath(this.dir, name));
    }
  }

  /** Snapshot files, newest (highest index, then term) first. */
  list(): SnapshotFileInfo[] {
    return this.disk
      .list(this.dir)
      .map(parseSnapshotFileName)
      .filter((info): info is SnapshotFileInfo => info !== null)
      .sort((a, b) => b.index - a.index || b.term - a.term);
  }

  /** Saves atomically and durably, then prunes. Returns the file name. */
  save(snapshot: Snapshot): string {
    const { metadata, data } = snapshot;
    const name = snapshotFileName(metadata.index, metadata.term);
    const tempPath = joinPath(this.dir, `${name}${TEMP_SUFFIX}`);
    const file = this.disk.open(tempPath, 'create');
    try {
      file.append(encodePrefix(metadata, data.length));
      file.append(data);
      const trailer = new Uint8Array(4);
      new DataView(trailer.buffer).setUint32(0, crc32c(data), true);
      file.append(trailer);
      file.sync();
    } finally {
      file.close();
    }
    this.publish(tempPath, name);
    return name;
  }

  /** Loads and verifies one snapshot file. */
  load(name: string): Snapshot {
    // Errors name the whole path: an operator reading "corrupt" must find the file without a guess.
    const file = joinPath(this.dir, name);
    const bytes = this.disk.readFile(file);
    const prefix = decodePrefix(file, bytes.length, (offset, length) =>
      bytes.subarray(offset, offset + length),
    );
    const dataEnd = prefix.dataOffset + prefix.dataBytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (crc32c(bytes, prefix.dataOffset, dataEnd) !== view.getUint32(dataEnd, true)) {
      throw new SnapshotCorruptError(file, 'data checksum mismatch');
    }
    const info = parseSnapshotFileName(name);
    if (info !== null && (info.index !== prefix.metadata.index || info.term !== prefix.metadata.term)) {
      throw new SnapshotCorruptError(file, 'name disagrees with metadata');
    }
    return { metadata: prefix.metadata, data: bytes.slice(prefix.dataOffset, dataEnd) };
  }

  /** The snapshot at exactly (index, term): the one a WAL marker names. Refuses a corrupt file. */
  loadAt(index: number, term: number): Snapshot {
    const info = this.list().find((candidate) => candidate.index === index && candidate.term === term);
    if (info === undefined) throw new SnapshotMissingError(this.dir, index);
    return this.load(info.name);
  }

  /** The newest snapshot that verifies, with the corrupt newer ones it skipped; null if none. */
  loadLatest(): { snapshot: Snapshot; name: string; skipped: SnapshotCorruptError[] } | null {
    const skipped: SnapshotCorruptError[] = [];
    for (const info of this.list()) {
      try {
        return { snapshot: this.load(info.name), name: info.name, skipped };
      } catch (error) {
        if (!(error instanceof SnapshotCorruptError)) throw error;
        skipped.push(error);
      }
    }
    return null;
  }

  /** Opens a snapshot file for chunked reading (to stream it to a peer). */
  openReader(name: string): SnapshotReader {
    return new SnapshotReader(this.disk.open(joinPath(this.dir, name), 'existing'));
  }

  /** Streams a snapshot file in chunks of at most `chunkBytes`. */
  async *chunks(name: string, chunkBytes = SNAPSHOT_CHUNK_BYTES_DEFAULT): AsyncGenerator<SnapshotChunk> {
    const reader = this.openReader(name);
    try {
      for (let offset = 0; offset < reader.fileBytes; ) {
        const chunk = reader.read(offset, chunkBytes);
        offset += chunk.bytes.length;
        yield chunk;
      }
    } finally {
      reader.close();
    }
  }

  /** Starts receiving a snapshot file from a peer. */
  beginInstall(): SnapshotInstaller {
    this.installs++;
    const tempPath = joinPath(this.dir, `install-${this.installs}${SNAPSHOT_SUFFIX}${TEMP_SUFFIX}`);
    if (this.disk.exists(tempPath)) this.disk.unlink(tempPath);
    return new SnapshotInstaller(this, tempPath, this.disk.open(tempPath, 'create'));
  }

  /** Deletes all but the newest `snapshotsRetained` snapshots. Returns the number deleted. */
  prune(): number {
    const victims = this.list().slice(this.snapshotsRetained);
    for (const victim of victims) this.disk.unlink(joinPath(this.dir, victim.name));
    if (victims.length > 0) this.disk.syncDir(this.dir);
    return victims.length;
  }

  /** @internal Renames a fully written, fsynced temp file into place, durably. */
  publish(tempPath: string, name: string): void {
    this.disk.rename(tempPath, joinPath(this.dir, name));
    this.disk.syncDir(this.dir);
    this.prune();
  }
}

export class SnapshotReader {
  readonly fileBytes: number;

  constructor(private readonly file: DiskFile) {
    this.fileBytes = file.size();
  }

  read(offsetBytes: number, maxBytes: number): SnapshotChunk {
    assert(maxBytes > 0, 'chunk size must be positive');
    const bytes = this.file.read(offsetBytes, maxBytes);
    return { offsetBytes, bytes, crc: crc32c(bytes), fileBytes: this.fileBytes };
  }

  close(): void {
    this.file.close();
  }
}

/**
 * Receives a snapshot file chunk by chunk, in order, writing each to a temp file as it comes.
 * `finish()` fsyncs, verifies the whole file and only then renames it into place; an install
 * that is aborted or interrupted leaves only a temp file, which is never loaded.
 */
export class SnapshotInstaller {
  private receivedBytes = 0;
  private done = false;

  constructor(
    private readonly store: SnapshotStore,
    private readonly tempPath: string,
    private readonly file: DiskFile,
  ) {}

  received(): number {
    return this.receivedBytes;
  }

  write(chunk: SnapshotChunk): void {
    assert(!this.done, 'install already finished');
    assert(
      chunk.offsetBytes === this.receivedBytes,
      `chunk at ${chunk.offsetBytes}, expected ${this.receivedBytes}`,
    );
    if (crc32c(chunk.bytes) !== chunk.crc) {
      throw new SnapshotCorruptError(this.tempPath, `chunk at byte ${chunk.offsetBytes} fails its checksum`);
    }
    this.file.append(chunk.bytes);
    this.receivedBytes += chunk.bytes.length;
  }

  /** Verifies and publishes the snapshot; returns its file name and metadata. */
  finish(): { name: string; metadata: SnapshotMetadata } {
    assert(!this.done, 'install already finished');
    this.done = true;
    let metadata: SnapshotMetadata;
    try {
      this.file.sync();
      metadata = verifyFile(this.file, this.tempPath);
    } catch (error) {
      this.discard();
      throw error;
    }
    this.file.close();
    const name = snapshotFileName(metadata.index, metadata.term);
    this.store.publish(this.tempPath, name);
    return { name, metadata };
  }

  /** Drops a partial install. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.discard();
  }

  private discard(): void {
    this.file.close();
    this.store.disk.unlink(this.tempPath);
  }
}
