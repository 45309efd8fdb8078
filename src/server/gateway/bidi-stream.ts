// Bidirectional calls (Watch, LeaseKeepAlive) over HTTP/1.1, as grpc-gateway v1 serves them: the
// request body is a sequence of JSON values, each one request message, read as it arrives; the
// answers stream back as they come (http-stream-call.ts).
//
// grpc-gateway decodes the first message before anything else: if it does not decode, the client
// gets an error answer (HTTP 500, gRPC code Unknown, as etcd 3.4 answers) and no stream. A later
// message that does not decode, or the end of the body, closes the sending side ("CloseSend");
// what that means is the service's to decide (etcd's Watch keeps streaming, LeaseKeepAlive ends).

import type http from 'node:http';
import { GrpcError, Status } from '../api/errors.js';
import type { StreamImplementation } from '../api/grpc-server.js';
import { readValue } from './go-json.js';
import { errorBody, httpStatusFor } from './http-errors.js';
import { HttpStreamCall, STREAM_HEADERS } from './http-stream-call.js';
import { JsonRequestError } from './json-request.js';
import type { MessageCodec } from './message-codec.js';

export interface BidiStreamOptions {
  readonly request: http.IncomingMessage;
  readonly response: http.ServerResponse;
  readonly codec: MessageCodec;
  readonly implementation: StreamImplementation;
  /** Whether the end of the request body ends the call's input ('end' event) or is ignored. */
  readonly forwardHalfClose: boolean;
  /** Bound on the bytes of one request message waiting to be complete. */
  readonly maxPendingBytes: number;
}

export function serveBidiStream(options: BidiStreamOptions): void {
  const { request } = options;
  const reader = new BodyReader(options);
  request.on('data', (chunk: Buffer) => reader.push(chunk));
  request.on('end', () => reader.finish());
}

class BodyReader {
  private pending: Buffer = Buffer.alloc(0);
  private call: HttpStreamCall | undefined;
  /** No more messages go to the call (CloseSend happened or the call never started). */
  private closed = false;

  constructor(private readonly options: BidiStreamOptions) {}

  push(chunk: Buffer): void {
    if (this.closed) return; // the rest of the body is read and dropped, as grpc-gateway does
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pump(false);
    if (!this.closed && this.pending.length > this.options.maxPendingBytes) {
      this.fail(
        new GrpcError(
          Status.RESOURCE_EXHAUSTED,
          `flotilla: a streamed request message is larger than ${this.options.maxPendingBytes} bytes`,
        ),
      );
    }
  }

  finish(): void {
    if (!this.closed) this.pump(true);
  }

  private pump(atEof: boolean): void {
    let offset = 0;
    while (!this.closed) {
      const next = readValue(this.pending, offset, atEof);
      if (next.kind === 'incomplete') break;
      if (next.kind === 'eof') {
        this.closeSend();
        break;
      }
      if (next.kind === 'error') {
        this.fail(new JsonRequestError(next.message));
        break;
      }
      offset = next.end;
      let message: unknown;
      try {
        message = this.options.codec.request(this.pending.subarray(next.start, next.end));
      } catch (error) {
        this.fail(error);
        break;
      }
      this.deliver(message);
    }
    this.pending = Buffer.from(this.pending.subarray(offset));
  }

  private start(): HttpStreamCall {
    const { response, request, codec, implementation } = this.options;
    const call = new HttpStreamCall(response, request.headers, undefined, (message) =>
      codec.response(message),
    );
    this.call = call;
    implementation(call);
    return call;
  }

  private deliver(message: unknown): void {
    (this.call ?? this.start()).emit('data', message);
  }

  /** The client sends nothing more (grpc-gateway's CloseSend). */
  private closeSend(): void {
    const call = this.call ?? this.start();
    this.closed = true;
    if (this.options.forwardHalfClose) call.emit('end');
  }

  private fail(error: unknown): void {
    if (this.call !== undefined) {
      this.closeSend();
      return;
    }
    this.closed = true;
    // The first message did not decode: grpc-gateway answers with the plain error (code Unknown).
    const code = error instanceof GrpcError ? error.code : Status.UNKNOWN;
    const message = error instanceof Error ? error.message : String(error);
    const { response } = this.options;
    response.writeHead(httpStatusFor(code), STREAM_HEADERS);
    response.end(errorBody({ code, message }));
  }
}
