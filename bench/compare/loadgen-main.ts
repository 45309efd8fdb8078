// The load generator process (forked by loadgen-client.ts): runs one job at a time on request and
// reports the measured window's edges as they happen, so the harness can read the servers' CPU
// at exactly those moments. A separate process, so its CPU is measured apart from the harness.

import type * as http2 from 'node:http2';
import { methodPath } from './grpc-codec.js';
import { encodeLoad } from './loadgen-bodies.js';
import { closeAll, connectAll } from './loadgen-h2.js';
import type {
  ChildMessage,
  JobResult,
  LoadJob,
  ParentMessage,
  PreloadJob,
  UnaryJob,
} from './loadgen-jobs.js';
import { revokeLeases, runKeepAlive } from './loadgen-keepalive.js';
import { Recorder, runWindow } from './loadgen-recorder.js';
import { randomPicker, sequentialPicker, UnaryLoop } from './loadgen-unary.js';
import { runWatch } from './loadgen-watch.js';

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function withSessions<T>(
  job: UnaryJob | PreloadJob,
  recorder: Recorder,
  body: (sessions: http2.ClientHttp2Session[]) => Promise<T>,
): Promise<T> {
  const sessions = await connectAll(job.targets, (message) => recorder.error(message));
  try {
    return await body(sessions);
  } finally {
    await closeAll(sessions);
  }
}

function runUnary(job: UnaryJob, recorder: Recorder): Promise<JobResult> {
  return withSessions(job, recorder, async (sessions) => {
    const leaseIds: bigint[] = [];
    const load = encodeLoad(job.request, (id) => leaseIds.push(id));
    const loop = new UnaryLoop(sessions, load, randomPicker(load.count), recorder);
    loop.start(job.inFlight);
    await runWindow(recorder, job.warmupMs, job.measureMs, () => loop.stop());
    await loop.drained();
    // Leases granted by the lease-grant row would expire (TTL) in the middle of later rows.
    if (leaseIds.length > 0) await revokeLeases(sessions, leaseIds, recorder);
    return recorder.result({ leasesRevoked: leaseIds.length });
  });
}

function runPreload(job: PreloadJob, recorder: Recorder): Promise<JobResult> {
  return withSessions(job, recorder, async (sessions) => {
    const load = encodeLoad(job.request);
    const loop = new UnaryLoop(sessions, load, sequentialPicker(load.count), recorder);
    recorder.begin();
    loop.start(job.inFlight);
    await loop.drained(null);
    recorder.end();
    return recorder.result({ txns: load.count, keys: job.request.keys.count });
  });
}

function runJob(job: LoadJob): Promise<JobResult> {
  const recorder = new Recorder((phase) => send({ type: 'window', phase }));
  switch (job.kind) {
    case 'unary':
      return runUnary(job, recorder);
    case 'preload':
      return runPreload(job, recorder);
    case 'keepalive':
      return runKeepAlive(job, recorder);
    case 'watch':
      return runWatch(job, recorder);
  }
}

process.on('message', (message: ParentMessage) => {
  if (message.type !== 'run') return;
  runJob(message.job).then(
    (result) => send({ type: 'result', result }),
    (error: unknown) => send({ type: 'failed', message: (error as Error).stack ?? String(error) }),
  );
});
// The harness is gone (crashed or killed): nothing left to measure for.
process.on('disconnect', () => process.exit(0));
methodPath('KV', 'Put'); // load the proto definitions now, not inside the first job
send({ type: 'ready' });
