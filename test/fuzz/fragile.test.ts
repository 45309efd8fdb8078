// A fuzzer that cannot find a crash proves nothing: the same client-port fuzzer, pointed at a
// server with a planted crash (fragile-server.ts), must report it within the CI budget.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fuzzClientPorts } from './grpc-fuzzer.js';
import { GrpcInputs } from './grpc-inputs.js';
import { fuzzSeed, Rng } from './mutate.js';

const FRAGILE_SERVER = fileURLToPath(new URL('./fragile-server.js', import.meta.url));
/** Far more than needed: a wire type 6 or 7 first tag comes up within a few dozen inputs. */
const INPUTS_MAX = 3000;

test('the client-port fuzzer finds the crash planted in a fragile server', async () => {
  const child = spawn(process.execPath, [FRAGILE_SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once('exit', (code) => reject(new Error(`fragile server exited with ${code}: ${stderr}`)));
    });
    const seed = fuzzSeed();
    const target = { address: `127.0.0.1:${port}`, crashed: () => child.exitCode !== null };
    const report = await fuzzClientPorts([target], new GrpcInputs(new Rng(seed)), { count: INPUTS_MAX });
    console.log(`fragile fuzz: seed ${seed}, ${report.tried} inputs tried, ${report.crashes} crashes found`);
    assert.equal(report.crashes, 1, `seed ${seed}: no crash found in ${report.tried} inputs`);
    assert.match(stderr, /fragile: wire type [67]/);
    assert.ok(report.crashInputs.length > 0);
  } finally {
    child.kill('SIGKILL');
  }
});
