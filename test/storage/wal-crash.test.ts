// Crash test with a real child process: every index the child acknowledged after an fsync
// must survive SIGKILL, and the recovered log must be a contiguous prefix with nothing partial.
// FLOTILLA_CRASH_ITERATIONS raises the iteration count for longer soaks.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NodeDisk } from '../../src/storage/disk.js';
import { Wal } from '../../src/storage/wal.js';
import { entryData, makeTempDir, removeDir, seededRandom } from './helpers.js';
import { CRASH_CLUSTER_ID, CRASH_SEGMENT_BYTES_MAX, crashEntryBytes } from './wal-crash-child.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wal-crash-child.js');
const ITERATIONS = Number(process.env.FLOTILLA_CRASH_ITERATIONS ?? 100);
const KILL_DELAY_MS_MAX = 25;
const FIRST_ACK_TIMEOUT_MS = 10_000;
/** Start a fresh WAL this often, so recovery time stays bounded as the log grows. */
const ITERATIONS_PER_WAL = 20;
const SEED = Number(process.env.FLOTILLA_CRASH_SEED ?? 20240601);

/** Runs the child until its first ack, waits a random delay, kills it; returns the highest ack seen. */
async function runAndKill(dir: string, seed: number, delayMs: number): Promise<number> {
  const child: ChildProcess = spawn(process.execPath, [CHILD, '--wal-dir', dir, '--seed', String(seed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  let notifyFirstAck: () => void = () => {};
  const firstAck = new Promise<void>((resolve, reject) => {
    notifyFirstAck = resolve;
    const timer = setTimeout(
      () => reject(new Error(`no ack within ${FIRST_ACK_TIMEOUT_MS} ms`)),
      FIRST_ACK_TIMEOUT_MS,
    );
    timer.unref();
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before its first ack`)));
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.includes('\n')) notifyFirstAck();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await firstAck;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  let acked = 0;
  for (const line of output.split('\n')) {
    const match = /^ack (\d+)$/.exec(line); // a partial last line does not match
    if (match !== null) acked = Math.max(acked, Number(match[1]));
  }
  return acked;
}

test('SIGKILL at random moments never loses an acknowledged entry (real child process)', async (t) => {
  const root = makeTempDir();
  t.after(() => removeDir(root));
  const random = seededRandom(SEED);
  let dir = '';
  let tornRecoveries = 0;
  for (let iteration = 0; iteration < ITERATIONS; iteration++) {
    if (iteration % ITERATIONS_PER_WAL === 0) dir = path.join(root, `wal-${iteration}`);
    const delayMs = Math.floor(random() * KILL_DELAY_MS_MAX);
    const acked = await runAndKill(dir, iteration + SEED, delayMs);
    const context = `seed ${SEED} iteration ${iteration} (kill after ${delayMs} ms)`;
    assert.ok(acked > 0, `${context}: no ack parsed`);
    const { wal, recovery } = Wal.open({
      disk: new NodeDisk(),
      dir,
      clusterId: CRASH_CLUSTER_ID,
      groupId: 0,
      segmentBytesMax: CRASH_SEGMENT_BYTES_MAX,
    });
    if (recovery.tornTailBytes > 0) tornRecoveries++;
    assert.equal(recovery.marker.index, 0, context);
    assert.ok(
      recovery.entries.length >= acked,
      `${context}: acked ${acked}, recovered ${recovery.entries.length}`,
    );
    recovery.entries.forEach((entry, i) => {
      assert.equal(entry.index, i + 1, `${context}: not contiguous at ${i + 1}`);
      assert.deepEqual(
        entry.data,
        entryData(entry.index, 1, crashEntryBytes(entry.index)),
        `${context}: entry ${i + 1}`,
      );
    });
    assert.ok(
      recovery.hardState.commit >= acked,
      `${context}: hard state commit ${recovery.hardState.commit} < ${acked}`,
    );
    assert.ok(recovery.hardState.commit <= recovery.entries.length, context);
    wal.close();
  }
  t.diagnostic(`${ITERATIONS} kills, ${tornRecoveries} recoveries cut a torn tail`);
});
