// HTTP/2 plumbing of the load generator: connections to the members' client ports, gRPC request
// headers, and reading a call's outcome (grpc-status in the trailers, or in the headers of a
// trailers-only answer). Plain node:http2 rather than @grpc/grpc-js, because the generator must
// cost far less CPU than the servers it measures (ANCHORS.md).

import * as http2 from 'node:http2';
import type { Target } from './loadgen-jobs.js';

/**
 * Per-stream receive window we announce. Node's default (64 KiB) would make a 2.7 MB range answer
 * wait on many WINDOW_UPDATE round trips; Go's gRPC clients grow their window to several MiB.
 */
const STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
/** Receive window of the whole connection. */
const SESSION_WINDOW_BYTES = 64 * 1024 * 1024;
/** Node's http2 memory cap per session (in MiB), raised for many large responses in flight. */
const SESSION_MEMORY_MIB = 256;
const CONNECT_TIMEOUT_MS = 5_000;
const GRPC_STATUS_OK = '0';
const HTTP_OK = 200;

export function grpcHeaders(path: string): http2.OutgoingHttpHeaders {
  return { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' };
}

export function connect(
  address: string,
  onError: (message: string) => void,
): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`, {
      settings: { initialWindowSize: STREAM_WINDOW_BYTES, enablePush: false },
      maxSessionMemory: SESSION_MEMORY_MIB,
    });
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`HTTP/2 connect to ${address} timed out after ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    session.once('connect', () => {
      clearTimeout(timer);
      session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      resolve(session);
    });
    session.on('error', (error) => {
      clearTimeout(timer);
      onError(`connection to ${address}: ${error.message}`);
      reject(error);
    });
    session.on('goaway', (code) => onError(`connection to ${address}: GOAWAY code ${code}`));
  });
}

/** `connections` sessions per target, in target order (so slot i % n spreads over members). */
export async function connectAll(
  targets: readonly Target[],
  onError: (message: string) => void,
): Promise<http2.ClientHttp2Session[]> {
  const sessions: http2.ClientHttp2Session[] = [];
  const widest = Math.max(...targets.map((target) => target.connections));
  // Interleave members: session i belongs to targets[i % targets.length] while they last.
  for (let round = 0; round < widest; round++) {
    for (const target of targets) {
      if (round < target.connections) sessions.push(await connect(target.address, onError));
    }
  }
  return sessions;
}

export function closeAll(sessions: readonly http2.ClientHttp2Session[]): Promise<void> {
  return Promise.all(
    sessions.map(
      (session) =>
        new Promise<void>((resolve) => {
          if (session.closed || session.destroyed) resolve();
          else session.close(() => resolve());
        }),
    ),
  ).then(() => undefined);
}

/** Collects a call's status from its headers and trailers; `outcome()` once the stream closed. */
export class CallStatus {
  private status: string | undefined;
  private message = '';
  private streamError: string | undefined;

  headers(headers: http2.IncomingHttpHeaders): void {
    const status = headers['grpc-status'];
    if (status !== undefined) this.trailers(headers);
    else if (headers[':status'] !== undefined && Number(headers[':status']) !== HTTP_OK) {
      this.streamError = `HTTP status ${headers[':status']}`;
    }
  }

  trailers(trailers: http2.IncomingHttpHeaders): void {
    this.status = String(trailers['grpc-status']);
    const message = trailers['grpc-message'];
    if (typeof message === 'string') this.message = decodeGrpcMessage(message);
  }

  error(error: Error): void {
    this.streamError ??= error.message;
  }

  /** null when the call succeeded (grpc-status 0), otherwise why it failed. */
  outcome(rstCode: number): string | null {
    if (this.streamError !== undefined) return this.streamError;
    if (this.status === GRPC_STATUS_OK) return null;
    if (this.status === undefined) return `stream closed without grpc-status (RST code ${rstCode})`;
    return `grpc-status ${this.status}: ${this.message}`;
  }
}

function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // gRPC percent-encodes the message; a malformed escape is still worth showing as sent.
    return text;
  }
}
