// Lease keepalives: grant `leases` leases, open one long-lived LeaseKeepAlive stream per connection,
// keep a fixed number of keepalive requests outstanding on each stream, and count the answers.
// Both servers answer a stream's requests in order, so request i's answer is the i-th answer: its
// latency is measured from a FIFO of send times. The leases are revoked afterwards, outside the
// window, so they do not expire in the middle of a later row.

import type * as http2 from 'node:http2';
import { encodeRequest, GrpcMessageReader, methodPath } from './grpc-codec.js';
import { encodeLoad, leaseRevokeBodies } from './loadgen-bodies.js';
import { CallStatus, closeAll, connectAll, grpcHeaders } from './loadgen-h2.js';
import type { JobResult, KeepAliveJob } from './loadgen-jobs.js';
import { type Recorder, runWindow, sleep } from './loadgen-recorder.js';
import { DRAIN_TIMEOUT_MS, sequentialPicker, UnaryLoop } from './loadgen-unary.js';
import { keepAliveTtlSeconds } from './proto-scan.js';

/** Concurrent grant and revoke calls while setting up and cleaning up (not measured). */
const SETUP_IN_FLIGHT = 16;

class KeepAliveStream {
  private readonly sentNs: bigint[] = [];
  private sent = 0;
  private stopped = false;
  private readonly stream: http2.ClientHttp2Stream;
  private readonly closed: Promise<void>;
  private readonly status = new CallStatus();

  constructor(
    session: http2.ClientHttp2Session,
    private readonly bodies: readonly Buffer[],
    private readonly recorder: Recorder,
  ) {
    this.stream = session.request(grpcHeaders(methodPath('Lease', 'LeaseKeepAlive')));
    const reader = new GrpcMessageReader();
    this.stream.on('response', (headers) => this.status.headers(headers));
    this.stream.on('trailers', (trailers) => this.status.trailers(trailers));
    this.stream.on('error', (error) => this.status.error(error));
    this.stream.on('data', (chunk: Buffer) => reader.push(chunk, (message) => this.answered(message)));
    this.closed = new Promise((resolve) => this.stream.once('close', () => resolve()));
  }

  start(outstanding: number): void {
    for (let i = 0; i < outstanding; i++) this.send();
  }

  stop(): void {
    this.stopped = true;
  }

  get outstanding(): number {
    return this.sentNs.length;
  }

  /** Ends the request side and waits for the server to finish the stream. */
  async finish(): Promise<void> {
    if (!this.stream.closed) this.stream.end();
    const timedOut = await Promise.race([
      this.closed.then(() => false),
      sleep(DRAIN_TIMEOUT_MS).then(() => true),
    ]);
    if (timedOut) {
      this.recorder.error(
        `LeaseKeepAlive stream not closed ${DRAIN_TIMEOUT_MS} ms after the client ended it`,
      );
      this.stream.close();
      return;
    }
    const failure = this.status.outcome(this.stream.rstCode ?? 0);
    if (failure !== null) this.recorder.error(`LeaseKeepAlive stream: ${failure}`);
  }

  private send(): void {
    if (this.stream.closed || this.stream.destroyed) return;
    this.sentNs.push(process.hrtime.bigint());
    this.stream.write(this.bodies[this.sent++ % this.bodies.length]);
  }

  private answered(message: Buffer): void {
    const endedNs = process.hrtime.bigint();
    const startedNs = this.sentNs.shift();
    if (startedNs === undefined) {
      this.recorder.error('LeaseKeepAlive answer without a request');
      return;
    }
    // A renewal must grant time: TTL 0 or less means the server did not find the lease.
    if (keepAliveTtlSeconds(message) <= 0n)
      this.recorder.error('LeaseKeepAlive answered TTL <= 0 (lease not found)');
    else this.recorder.success(startedNs, endedNs);
    if (!this.stopped) this.send();
  }
}

async function grantLeases(
  sessions: readonly http2.ClientHttp2Session[],
  job: KeepAliveJob,
  recorder: Recorder,
): Promise<bigint[]> {
  const ids: bigint[] = [];
  const load = encodeLoad({ op: 'lease-grant', ttlSeconds: job.ttlSeconds }, (id) => ids.push(id));
  const picker = sequentialPicker(job.leases);
  const loop = new UnaryLoop(sessions, load, () => (picker() === null ? null : 0), recorder);
  loop.start(SETUP_IN_FLIGHT);
  await loop.drained(null);
  return ids;
}

/** Revokes leases (keepalive leases, or those the lease-grant row created) with a few in flight. */
export async function revokeLeases(
  sessions: readonly http2.ClientHttp2Session[],
  ids: readonly bigint[],
  recorder: Recorder,
): Promise<void> {
  const loop = new UnaryLoop(sessions, leaseRevokeBodies(ids), sequentialPicker(ids.length), recorder);
  loop.start(SETUP_IN_FLIGHT);
  await loop.drained(null);
}

export async function runKeepAlive(job: KeepAliveJob, recorder: Recorder): Promise<JobResult> {
  const sessions = await connectAll([job.target], (message) => recorder.error(message));
  try {
    const ids = await grantLeases(sessions, job, recorder);
    if (ids.length === 0) throw new Error(`no lease granted: ${recorder.firstError}`);
    const bodies = ids.map((id) => encodeRequest('Lease', 'LeaseKeepAlive', { ID: id.toString() }));
    const streams = sessions.map((session) => new KeepAliveStream(session, bodies, recorder));
    streams.forEach((stream, i) => {
      // Spread the outstanding requests evenly; the first streams take the remainder.
      stream.start(Math.floor(job.inFlight / streams.length) + (i < job.inFlight % streams.length ? 1 : 0));
    });
    await runWindow(recorder, job.warmupMs, job.measureMs, () => {
      for (const stream of streams) stream.stop();
    });
    await waitAnswered(streams, recorder);
    await Promise.all(streams.map((stream) => stream.finish()));
    await revokeLeases(sessions, ids, recorder);
    return recorder.result({ leases: ids.length, streams: streams.length });
  } finally {
    await closeAll(sessions);
  }
}

const ANSWER_POLL_MS = 10;

/** Waits (bounded) until every keepalive sent has been answered; one error if some never are. */
async function waitAnswered(streams: readonly KeepAliveStream[], recorder: Recorder): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  const unanswered = () => streams.reduce((sum, stream) => sum + stream.outstanding, 0);
  while (unanswered() > 0 && Date.now() < deadline) await sleep(ANSWER_POLL_MS);
  if (unanswered() > 0)
    recorder.error(`${unanswered()} keepalives unanswered ${DRAIN_TIMEOUT_MS} ms after the load stopped`);
}
