// The closed loop of unary gRPC calls on raw HTTP/2: `inFlight` slots spread over the sessions,
// each slot sends a pre-encoded body, and its completion (the stream's close) sends the next one.
// A call succeeded only if grpc-status is 0 (and its response passes the load's check).

import type * as http2 from 'node:http2';
import { GrpcMessageReader } from './grpc-codec.js';
import type { EncodedLoad } from './loadgen-bodies.js';
import { CallStatus, grpcHeaders } from './loadgen-h2.js';
import { type Recorder, sleep } from './loadgen-recorder.js';

/** After this many errors a slot stops sending: a failing server would otherwise be flooded. */
const ERRORS_BEFORE_ABORT = 1_000;
/** How long outstanding calls may take to finish after the load stops. */
export const DRAIN_TIMEOUT_MS = 30_000;

/** Index of the next body to send, or null when there is nothing left (preloading). */
export type BodyPicker = () => number | null;

export function randomPicker(count: number): BodyPicker {
  return () => Math.floor(Math.random() * count);
}

export function sequentialPicker(count: number): BodyPicker {
  let next = 0;
  return () => (next < count ? next++ : null);
}

export class UnaryLoop {
  private outstanding = 0;
  private stopped = false;
  /** The picker ran out of bodies (preloading is done once the last calls finish). */
  private exhausted = false;
  private readonly headers: http2.OutgoingHttpHeaders;
  private readonly idle: Promise<void>;
  private resolveIdle: () => void = () => undefined;

  constructor(
    private readonly sessions: readonly http2.ClientHttp2Session[],
    private readonly load: EncodedLoad,
    private readonly pick: BodyPicker,
    private readonly recorder: Recorder,
  ) {
    if (sessions.length === 0) throw new Error('unary load needs at least one connection');
    this.headers = grpcHeaders(load.path);
    this.idle = new Promise((resolve) => {
      this.resolveIdle = resolve;
    });
  }

  /** Starts `inFlight` slots; slot i uses session i % sessions. */
  start(inFlight: number): void {
    for (let slot = 0; slot < inFlight; slot++) this.issue(this.sessions[slot % this.sessions.length]!);
    this.checkIdle();
  }

  /** No new calls from now on. */
  stop(): void {
    this.stopped = true;
    this.checkIdle();
  }

  /**
   * Resolves once no call is outstanding (after stop(), or when a sequential picker runs out).
   * With a bound, calls still open after `timeoutMs` count as one error; without one (preloading,
   * whose length depends on the data), the harness's bound on the whole job applies.
   */
  async drained(timeoutMs: number | null = DRAIN_TIMEOUT_MS): Promise<void> {
    if (timeoutMs === null) return this.idle;
    const timedOut = await Promise.race([this.idle.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut)
      this.recorder.error(`${this.outstanding} calls still open ${timeoutMs} ms after the load stopped`);
  }

  private checkIdle(): void {
    if (this.outstanding === 0 && (this.stopped || this.exhausted)) this.resolveIdle();
  }

  private issue(session: http2.ClientHttp2Session): void {
    if (this.stopped || this.recorder.errors >= ERRORS_BEFORE_ABORT) {
      this.stopped = true;
      return this.checkIdle();
    }
    const index = this.pick();
    if (index === null) {
      this.exhausted = true;
      return this.checkIdle();
    }
    let stream: http2.ClientHttp2Stream;
    const startedNs = process.hrtime.bigint();
    try {
      stream = session.request(this.headers);
    } catch (error) {
      // The session is closed or broken: the row has failed; stop the whole load instead of
      // spinning, so a preload waiting for the last call is not left hanging.
      this.recorder.error(`cannot start a call: ${(error as Error).message}`);
      this.stopped = true;
      return this.checkIdle();
    }
    this.outstanding++;
    this.watch(stream, session, startedNs);
    stream.end(this.load.body(index));
  }

  private watch(stream: http2.ClientHttp2Stream, session: http2.ClientHttp2Session, startedNs: bigint): void {
    const status = new CallStatus();
    const check = this.load.check;
    const chunks: Buffer[] = [];
    stream.on('response', (headers) => status.headers(headers));
    stream.on('trailers', (trailers) => status.trailers(trailers));
    stream.on('error', (error) => status.error(error));
    if (check === null) stream.resume();
    else stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('close', () => {
      const endedNs = process.hrtime.bigint();
      this.outstanding--;
      let failure = status.outcome(stream.rstCode ?? 0);
      if (failure === null && check !== null) failure = checkResponse(chunks, check);
      if (failure === null) this.recorder.success(startedNs, endedNs);
      else this.recorder.error(failure);
      this.issue(session);
    });
  }
}

function checkResponse(chunks: readonly Buffer[], check: (protobuf: Buffer) => string | null): string | null {
  const messages: Buffer[] = [];
  const reader = new GrpcMessageReader();
  for (const chunk of chunks) reader.push(chunk, (message) => messages.push(message));
  if (messages.length !== 1) return `expected one response message, got ${messages.length}`;
  return check(messages[0]!);
}
