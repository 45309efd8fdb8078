// Watch fan-out: `watchers` Watch streams on one prefix, spread over connections to every member;
// then puts under the prefix, one at a time, each waiting for the previous put's event to reach
// every watcher. A put's value is its sequence number, so every event names its put. The latency
// sample of a put is the time from its acknowledgement to the last watcher receiving its event
// (zero when every watcher had it before the acknowledgement arrived); the time from sending the
// put to the last watcher's event is reported beside it (details.sendToLastEvent*).

import * as http2 from 'node:http2';
import { encodeRequest, GrpcMessageReader, methodPath, prefixRangeEnd } from './grpc-codec.js';
import { CallStatus, closeAll, connect, connectAll, grpcHeaders } from './loadgen-h2.js';
import type { JobResult, WatchJob } from './loadgen-jobs.js';
import { type Recorder, summarize } from './loadgen-recorder.js';
import { scanWatchResponse } from './proto-scan.js';

/** Bound on creating every watcher, and on one put's event reaching every watcher. */
const WATCH_SETUP_TIMEOUT_MS = 30_000;
const FANOUT_TIMEOUT_MS = 10_000;
const SEQUENCE_DIGITS = 12;
const NS_PER_MS = 1e6;

interface PendingPut {
  readonly sequence: number;
  arrivals: number;
  lastArrivalNs: bigint;
  complete: () => void;
}

class FanOut {
  created = 0;
  pending: PendingPut | null = null;
  private closing = false;
  private readonly streams: http2.ClientHttp2Stream[] = [];

  constructor(
    private readonly watchers: number,
    private readonly recorder: Recorder,
  ) {}

  open(sessions: readonly http2.ClientHttp2Session[], prefix: string): void {
    const create = encodeRequest('Watch', 'Watch', {
      create_request: { key: Buffer.from(prefix, 'utf8'), range_end: prefixRangeEnd(prefix) },
    });
    const headers = grpcHeaders(methodPath('Watch', 'Watch'));
    for (let i = 0; i < this.watchers; i++) {
      const stream = sessions[i % sessions.length]!.request(headers);
      this.listen(stream);
      stream.write(create);
      this.streams.push(stream);
    }
  }

  /** Resets every watch stream (RST_STREAM CANCEL): the servers then drop the watchers. */
  close(): void {
    this.closing = true;
    for (const stream of this.streams) if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private listen(stream: http2.ClientHttp2Stream): void {
    const reader = new GrpcMessageReader();
    const status = new CallStatus();
    stream.on('response', (headers) => status.headers(headers));
    stream.on('trailers', (trailers) => status.trailers(trailers));
    stream.on('error', (error) => status.error(error));
    stream.on('data', (chunk: Buffer) => reader.push(chunk, (message) => this.onMessage(message)));
    stream.on('close', () => {
      if (this.closing) return;
      this.recorder.error(
        `watch stream ended early: ${status.outcome(stream.rstCode ?? 0) ?? 'grpc-status 0'}`,
      );
    });
  }

  private onMessage(message: Buffer): void {
    const now = process.hrtime.bigint();
    const response = scanWatchResponse(message);
    if (response.created) this.created++;
    if (response.canceled) this.recorder.error(`watch canceled by the server: ${response.cancelReason}`);
    for (const value of response.values) {
      const pending = this.pending;
      const sequence = Number(value);
      if (pending === null || sequence !== pending.sequence) {
        this.recorder.error(`event for put ${value} while waiting for put ${pending?.sequence ?? 'none'}`);
        continue;
      }
      pending.arrivals++;
      pending.lastArrivalNs = now;
      if (pending.arrivals === this.watchers) pending.complete();
    }
  }

  /** Resolves true when every watcher has the put's event, false after FANOUT_TIMEOUT_MS. */
  expect(sequence: number): { pending: PendingPut; delivered: Promise<boolean> } {
    let complete: () => void = () => undefined;
    const delivered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), FANOUT_TIMEOUT_MS);
      complete = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    const pending: PendingPut = { sequence, arrivals: 0, lastArrivalNs: 0n, complete };
    this.pending = pending;
    return { pending, delivered };
  }
}

/** One put through its own stream; resolves with the time its acknowledgement arrived, or null. */
function put(session: http2.ClientHttp2Session, body: Buffer, recorder: Recorder): Promise<bigint | null> {
  return new Promise((resolve) => {
    const status = new CallStatus();
    const stream = session.request(grpcHeaders(methodPath('KV', 'Put')));
    stream.on('response', (headers) => status.headers(headers));
    stream.on('trailers', (trailers) => status.trailers(trailers));
    stream.on('error', (error) => status.error(error));
    stream.resume();
    stream.on('close', () => {
      const ackNs = process.hrtime.bigint();
      const failure = status.outcome(stream.rstCode ?? 0);
      if (failure === null) resolve(ackNs);
      else {
        recorder.error(`put: ${failure}`);
        resolve(null);
      }
    });
    stream.end(body);
  });
}

async function waitCreated(fanOut: FanOut, watchers: number, recorder: Recorder): Promise<void> {
  const deadline = Date.now() + WATCH_SETUP_TIMEOUT_MS;
  while (fanOut.created < watchers && recorder.errors === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, CREATE_POLL_MS));
  }
  if (fanOut.created < watchers) {
    throw new Error(
      `only ${fanOut.created} of ${watchers} watchers created: ${recorder.firstError ?? 'timed out'}`,
    );
  }
}

const CREATE_POLL_MS = 10;

interface PutLoopOutcome {
  /** Puts inside the measured window. */
  readonly puts: number;
  /** Per measured put: from sending it to the last watcher receiving its event. */
  readonly sendToLastEventMs: readonly number[];
}

/** Puts one at a time until the window ends. */
async function putLoop(
  job: WatchJob,
  session: http2.ClientHttp2Session,
  fanOut: FanOut,
  recorder: Recorder,
): Promise<PutLoopOutcome> {
  const key = Buffer.from(`${job.prefix}key`, 'utf8');
  const startedMs = Date.now();
  const sendToLastEventMs: number[] = [];
  let measuredPuts = 0;
  for (let sequence = 0; recorder.errors === 0; sequence++) {
    const elapsedMs = Date.now() - startedMs;
    if (!recorder.recording && measuredPuts === 0 && elapsedMs >= job.warmupMs) recorder.begin();
    if (recorder.recording && (elapsedMs >= job.warmupMs + job.measureMs || measuredPuts >= job.putsMax))
      break;
    const value = Buffer.from(String(sequence).padStart(SEQUENCE_DIGITS, '0'), 'latin1');
    const { pending, delivered } = fanOut.expect(sequence);
    const sentNs = process.hrtime.bigint();
    const ackNs = await put(session, encodeRequest('KV', 'Put', { key, value }), recorder);
    if (ackNs === null) break;
    if (!(await delivered)) {
      recorder.error(
        `put ${sequence} reached ${pending.arrivals} of ${job.watchers} watchers in ${FANOUT_TIMEOUT_MS} ms`,
      );
      break;
    }
    const fanOutNs = pending.lastArrivalNs > ackNs ? pending.lastArrivalNs - ackNs : 0n;
    recorder.sample(Number(fanOutNs) / NS_PER_MS);
    recorder.count(job.watchers);
    if (recorder.recording) {
      measuredPuts++;
      sendToLastEventMs.push(Number(pending.lastArrivalNs - sentNs) / NS_PER_MS);
    }
  }
  if (recorder.recording) recorder.end();
  return { puts: measuredPuts, sendToLastEventMs };
}

export async function runWatch(job: WatchJob, recorder: Recorder): Promise<JobResult> {
  const onError = (message: string) => recorder.error(message);
  const putSession = await connect(job.putAddress, onError);
  const watchSessions = await connectAll(job.watchTargets, onError);
  const fanOut = new FanOut(job.watchers, recorder);
  try {
    fanOut.open(watchSessions, job.prefix);
    await waitCreated(fanOut, job.watchers, recorder);
    const { puts, sendToLastEventMs } = await putLoop(job, putSession, fanOut, recorder);
    const sendToLast = summarize(sendToLastEventMs);
    return recorder.result({
      puts,
      watchers: job.watchers,
      connections: watchSessions.length,
      sendToLastEventP50Ms: sendToLast?.p50Ms ?? Number.NaN,
      sendToLastEventP99Ms: sendToLast?.p99Ms ?? Number.NaN,
    });
  } finally {
    fanOut.close();
    await closeAll([putSession, ...watchSessions]);
  }
}
