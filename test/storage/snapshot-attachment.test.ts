// State attachments: received in chunks, published only when complete, read back in chunks,
// and removed once a newer snapshot or a synced database supersedes them.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { NodeDisk } from '../../src/storage/disk.js';
import { StateAttachments } from '../../src/storage/snapshot-attachment.js';
import { SnapshotStore } from '../../src/storage/snapshot-file.js';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-attachment-'));
  dirs.push(dir);
  return dir;
}

function receive(attachments: StateAttachments, index: number, parts: readonly string[]): string {
  const writer = attachments.begin(index, 2);
  for (const part of parts) writer.write(Buffer.from(part));
  return writer.finish();
}

test('an attachment is read back in chunks exactly as it was written', () => {
  const attachments = new StateAttachments(new NodeDisk(), tempDir());
  const name = receive(attachments, 7, ['abc', 'defgh', 'ij']);
  assert.deepEqual(attachments.list(), [name]);
  const chunks = [...attachments.read(name, 4)].map((c) => Buffer.from(c).toString());
  assert.deepEqual(chunks, ['abcd', 'efgh', 'ij']);
});

test('an aborted or interrupted attachment is never listed and is cleaned up on open', () => {
  const dir = tempDir();
  const disk = new NodeDisk();
  const attachments = new StateAttachments(disk, dir);
  const aborted = attachments.begin(3, 1);
  aborted.write(Buffer.from('partial'));
  aborted.abort();
  const interrupted = attachments.begin(4, 1);
  interrupted.write(Buffer.from('partial'));
  assert.deepEqual(attachments.list(), []);
  // A restart: the snapshot store drops temp files in the directory they share.
  new SnapshotStore({ disk, dir });
  assert.deepEqual(disk.list(dir), []);
});

test('names never repeat, across a reopen too', () => {
  const dir = tempDir();
  const first = receive(new StateAttachments(new NodeDisk(), dir), 5, ['a']);
  const second = receive(new StateAttachments(new NodeDisk(), dir), 5, ['b']);
  assert.notEqual(first, second);
  assert.equal(new StateAttachments(new NodeDisk(), dir).list().length, 2);
});

test('removeThrough drops attachments at or below the index except the one kept', () => {
  const attachments = new StateAttachments(new NodeDisk(), tempDir());
  const old = receive(attachments, 10, ['x']);
  const current = receive(attachments, 20, ['y']);
  const pending = receive(attachments, 30, ['z']);
  attachments.removeThrough(20, current);
  assert.deepEqual(attachments.list(), [current, pending]);
  attachments.removeThrough(25, null);
  assert.deepEqual(attachments.list(), [pending]);
  assert.ok(!attachments.list().includes(old));
});
