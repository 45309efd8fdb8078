import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimDisk, SimDiskError } from '../../src/storage/sim-disk.js';

const bytes = (...values: number[]) => new Uint8Array(values);

function setup(rng: () => number = () => 0): SimDisk {
  const disk = new SimDisk(rng);
  disk.mkdir('/d');
  return disk;
}

test('crash loses unsynced data and keeps synced data', () => {
  const disk = setup();
  const file = disk.open('/d/f', 'create');
  disk.syncDir('/d');
  file.append(bytes(1, 2, 3));
  file.sync();
  file.append(bytes(4, 5));
  assert.deepEqual(disk.readFile('/d/f'), bytes(1, 2, 3, 4, 5));
  disk.crash();
  assert.deepEqual(disk.readFile('/d/f'), bytes(1, 2, 3));
  assert.throws(() => file.append(bytes(9)), SimDiskError, 'handles from before the crash are dead');
});

test('crash with torn writes keeps a random prefix of the unsynced bytes', () => {
  const disk = setup(() => 0.5);
  const file = disk.open('/d/f', 'create');
  disk.syncDir('/d');
  file.append(bytes(1, 2));
  file.sync();
  file.append(bytes(3, 4, 5, 6, 7));
  disk.crash({ tornWrites: true });
  // floor(0.5 × (5 + 1)) = 3 of the 5 unsynced bytes.
  assert.deepEqual(disk.readFile('/d/f'), bytes(1, 2, 3, 4, 5));
});

test('unsynced overwrites and truncations of synced bytes are rolled back by a crash', () => {
  const disk = setup();
  const file = disk.open('/d/f', 'create');
  disk.syncDir('/d');
  file.append(bytes(1, 2, 3, 4));
  file.sync();
  file.writeAt(bytes(9), 1);
  file.truncate(2);
  disk.crash();
  assert.deepEqual(disk.readFile('/d/f'), bytes(1, 2, 3, 4));
});

test('a failed fsync throws and makes nothing durable', () => {
  const disk = setup();
  const file = disk.open('/d/f', 'create');
  disk.syncDir('/d');
  file.append(bytes(1));
  disk.failNextSyncs(1);
  assert.throws(() => file.sync(), /EIO/);
  disk.crash();
  assert.deepEqual(disk.readFile('/d/f'), bytes());
});

test('creation is not durable before the directory is fsynced', () => {
  const disk = setup();
  const file = disk.open('/d/new', 'create');
  file.append(bytes(1));
  file.sync();
  disk.crash();
  assert.equal(disk.exists('/d/new'), false);
});

test('rename is not durable before the directory is fsynced', () => {
  const disk = setup();
  const file = disk.open('/d/tmp', 'create');
  file.append(bytes(7));
  file.sync();
  disk.syncDir('/d');
  disk.rename('/d/tmp', '/d/final');
  assert.deepEqual(disk.list('/d'), ['final']);
  disk.crash();
  assert.deepEqual(disk.list('/d'), ['tmp']);
  disk.rename('/d/tmp', '/d/final');
  disk.syncDir('/d');
  disk.crash();
  assert.deepEqual(disk.list('/d'), ['final']);
  assert.deepEqual(disk.readFile('/d/final'), bytes(7));
});

test('unlink is not durable before the directory is fsynced', () => {
  const disk = setup();
  disk.open('/d/f', 'create').sync();
  disk.syncDir('/d');
  disk.unlink('/d/f');
  disk.crash();
  assert.equal(disk.exists('/d/f'), true);
});

test('a slow disk reports its simulated fsync latency', () => {
  const disk = setup();
  disk.syncLatencyMs = 40;
  const file = disk.open('/d/f', 'create');
  assert.equal(file.sync(), 40);
  assert.equal(disk.syncDir('/d'), 40);
  assert.equal(disk.stats.fileSyncs, 1);
  assert.equal(disk.stats.dirSyncs, 1);
});
