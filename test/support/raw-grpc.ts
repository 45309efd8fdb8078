// gRPC spoken by hand over node:http2, for tests that must control what a client library would not
// let them: a stream the client stops reading, more streams than the server allows, malformed
// messages and framing. Messages are encoded with the same proto definitions as grpc-client.ts.

import http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { loadEtcdServices } from './grpc-client.js';

const MESSAGE_PREFIX_BYTES = 5;
/** Bound on any wait in here: a server that never answers fails the test instead of hanging it. */
const ANSWER_TIMEOUT_MS = 10_000;

/** One gRPC length-prefixed message: compressed flag, 4-byte big-endian length, body. */
export function grpcFrame(body: Buffer, compressedFlag = 0): Buffer {
  const prefix = Buffer.alloc(MESSAGE_PREFIX_BYTES);
  prefix[0] = compressedFlag;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/** The grpc-js method definition of `Service/Method` (e.g. 'Watch/Watch'), for its codecs. */
export function methodDefinition(service: 'KV' | 'Lease' | 'Watch' | 'Maintenance', method: string) {
  const definition = loadEtcdServices()[service].service[method];
  if (definition === undefined) throw new Error(`no method ${service}/${method}`);
  return definition as grpc.MethodDefinition<unknown, unknown>;
}

export function connect(address: string): http2.ClientHttp2Session {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined); // the tests look at 'close' and at streams' answers
  return session;
}

/** A connection that the server accepted: resolves once its SETTINGS arrive, false if it closed first. */
export function accepted(session: http2.ClientHttp2Session): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (session.closed || session.destroyed) resolve(false);
    const timer = setTimeout(
      () => reject(new Error('neither SETTINGS nor a close in time')),
      ANSWER_TIMEOUT_MS,
    );
    session.once('remoteSettings', () => {
      clearTimeout(timer);
      resolve(true);
    });
    session.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Opens a gRPC call on `path` ('/etcdserverpb.Watch/Watch') without sending a message yet. */
export function openCall(
  session: http2.ClientHttp2Session,
  path: string,
  extraHeaders: http2.OutgoingHttpHeaders = {},
): http2.ClientHttp2Stream {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...extraHeaders,
  });
  stream.on('error', () => undefined); // resets are what some tests look for: see rstCode
  return stream;
}

/** Splits response DATA into message bodies. */
export class FrameReader {
  private pending = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    while (this.pending.length >= MESSAGE_PREFIX_BYTES) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < MESSAGE_PREFIX_BYTES + length) break;
      messages.push(this.pending.subarray(MESSAGE_PREFIX_BYTES, MESSAGE_PREFIX_BYTES + length));
      this.pending = this.pending.subarray(MESSAGE_PREFIX_BYTES + length);
    }
    return messages;
  }
}

/** How a call ended: its gRPC status (from trailers or trailers-only headers) or an HTTP/2 reset. */
export interface CallOutcome {
  readonly httpStatus: number | undefined;
  readonly grpcStatus: string | undefined;
  readonly grpcMessage: string | undefined;
  readonly rstCode: number | undefined;
  readonly messages: Buffer[];
}

/** Sends `body` (raw bytes: framing is the caller's) and half-closes; resolves with the outcome. */
export function unaryRaw(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer,
  extraHeaders: http2.OutgoingHttpHeaders = {},
  timeoutMs = ANSWER_TIMEOUT_MS,
): Promise<CallOutcome> {
  const stream = openCall(session, path, extraHeaders);
  return collect(stream, timeoutMs, () => stream.end(body));
}

function collect(
  stream: http2.ClientHttp2Stream,
  timeoutMs: number,
  start: () => void,
): Promise<CallOutcome> {
  return new Promise((resolve, reject) => {
    let httpStatus: number | undefined;
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    const reader = new FrameReader();
    const messages: Buffer[] = [];
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error('no answer in time'));
    }, timeoutMs);
    const takeStatus = (headers: http2.IncomingHttpHeaders) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
      if (headers['grpc-message'] !== undefined) grpcMessage = decodeURI(String(headers['grpc-message']));
    };
    stream.on('response', (headers) => {
      httpStatus = Number(headers[':status']);
      takeStatus(headers);
    });
    stream.on('trailers', takeStatus);
    stream.on('data', (chunk: Buffer) => messages.push(...reader.push(chunk)));
    stream.on('close', () => {
      clearTimeout(timer);
      const rstCode = stream.rstCode === http2.constants.NGHTTP2_NO_ERROR ? undefined : stream.rstCode;
      resolve({ httpStatus, grpcStatus, grpcMessage, rstCode, messages });
    });
    start();
  });
}
