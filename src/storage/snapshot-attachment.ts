// State attachments: the state machine's data received from a leader as a stream next to a small
// Raft snapshot, kept in a file in the snapshot directory so that neither the receiving nor the
// installing side holds it in memory. The snapshot's own data names the file; the file is needed
// until the state it holds is durable in the state machine's database (the next local snapshot).
//
// File `<index>-<term>-<sequence>.state` (16 hex digits, 16 hex digits, 8 hex digits): the bytes
// exactly as streamed (the state machine's format carries its own checksum). Written as
// `<name>.tmp`, fsynced, renamed, directory fsynced: a name without `.tmp` is always complete.

import { assert } from '../raft/assert.js';
import { type Disk, type DiskFile, joinPath } from './disk.js';

const ATTACHMENT_SUFFIX = '.state';
const TEMP_SUFFIX = '.tmp';
const NAME_PATTERN = /^[0-9a-f]{16}-[0-9a-f]{16}-([0-9a-f]{8})\.state$/;
export const ATTACHMENT_READ_CHUNK_BYTES = 1024 * 1024;

export class StateAttachments {
  /** Sequence numbers make every name new, so a stream never replaces a file in use. */
  private sequence: number;

  constructor(
    private readonly disk: Disk,
    readonly dir: string,
  ) {
    this.disk.mkdir(dir);
    let highest = 0;
    for (const name of this.list())
      highest = Math.max(highest, Number.parseInt(NAME_PATTERN.exec(name)![1]!, 16));
    this.sequence = highest;
  }

  /** Complete attachment files, oldest sequence first. */
  list(): string[] {
    return this.disk.list(this.dir).filter((name) => NAME_PATTERN.test(name));
  }

  /** Starts receiving the attachment of the snapshot at (index, term). */
  begin(index: number, term: number): AttachmentWriter {
    this.sequence++;
    const name =
      `${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}-` +
      `${this.sequence.toString(16).padStart(8, '0')}${ATTACHMENT_SUFFIX}`;
    const tempPath = joinPath(this.dir, `${name}${TEMP_SUFFIX}`);
    return new AttachmentWriter(this.disk, this.dir, name, tempPath, this.disk.open(tempPath, 'create'));
  }

  /** The attachment's bytes in chunks of at most `chunkBytes`, read as they are consumed. */
  *read(name: string, chunkBytes = ATTACHMENT_READ_CHUNK_BYTES): Generator<Uint8Array> {
    assert(NAME_PATTERN.test(name), `not an attachment name: ${name}`);
    const file = this.disk.open(joinPath(this.dir, name), 'existing');
    try {
      const sizeBytes = file.size();
      for (let offset = 0; offset < sizeBytes; ) {
        const chunk = file.read(offset, Math.min(chunkBytes, sizeBytes - offset));
        assert(chunk.length > 0, `short read in ${name}`);
        offset += chunk.length;
        yield chunk;
      }
    } finally {
      file.close();
    }
  }

  /**
   * Deletes the attachments of snapshots at or below `index`, except `keep`. Newer ones may
   * belong to a snapshot that raft has yet to install.
   */
  removeThrough(index: number, keep: string | null): void {
    const victims = this.list().filter(
      (name) => name !== keep && Number.parseInt(name.slice(0, 16), 16) <= index,
    );
    for (const name of victims) this.disk.unlink(joinPath(this.dir, name));
    if (victims.length > 0) this.disk.syncDir(this.dir);
  }
}

/** One attachment being received: appended chunk by chunk, published only once complete. */
export class AttachmentWriter {
  private done = false;

  constructor(
    private readonly disk: Disk,
    private readonly dir: string,
    readonly name: string,
    private readonly tempPath: string,
    private readonly file: DiskFile,
  ) {}

  write(chunk: Uint8Array): void {
    assert(!this.done, 'attachment already finished');
    this.file.append(chunk);
  }

  /** Makes the file durable under its final name; returns the name. */
  finish(): string {
    assert(!this.done, 'attachment already finished');
    this.done = true;
    try {
      this.file.sync();
    } catch (error) {
      this.discard();
      throw error;
    }
    this.file.close();
    this.disk.rename(this.tempPath, joinPath(this.dir, this.name));
    this.disk.syncDir(this.dir);
    return this.name;
  }

  /** Drops a partial attachment. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.discard();
  }

  private discard(): void {
    this.file.close();
    this.disk.unlink(this.tempPath);
  }
}
