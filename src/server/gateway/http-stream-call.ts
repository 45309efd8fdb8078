// A StreamCall (grpc-server.ts) over an HTTP/1.1 response, so the gateway drives the same Watch,
// LeaseKeepAlive, Snapshot and Observe implementations as gRPC clients do. Responses go out as
// grpc-gateway streams them: chunked, one `{"result":{...}}` object per line; an error ends the
// stream with one `{"error":{...}}` object. The status line and headers leave with the first of
// these (a stream that never answers never sends them, as in etcd).

import { EventEmitter } from 'node:events';
import type http from 'node:http';
import type http2 from 'node:http2';
import { Status } from '../api/errors.js';
import { RequestMetadata, type StatusError, type StreamCall } from '../api/grpc-server.js';
import { httpStatusFor, streamErrorChunk } from './http-errors.js';

/** Headers of a streamed answer; grpc-gateway forwards the gRPC server's content type too. */
export const STREAM_HEADERS: http.OutgoingHttpHeaders = {
  'Content-Type': 'application/json',
  'Grpc-Metadata-Content-Type': 'application/grpc',
};

export class HttpStreamCall extends EventEmitter implements StreamCall {
  cancelled = false;
  readonly metadata: RequestMetadata;
  private finished = false;

  constructor(
    private readonly response: http.ServerResponse,
    headers: http2.IncomingHttpHeaders,
    readonly request: unknown,
    /** A response message as the JSON text of its `result`. */
    private readonly encode: (message: unknown) => string,
  ) {
    super();
    this.metadata = new RequestMetadata(headers);
    response.on('drain', () => this.emit('drain'));
    response.on('close', () => {
      if (!this.finished) {
        this.finished = true;
        this.cancelled = true;
        this.emit('cancelled');
      }
      this.emit('close');
    });
  }

  get peer(): string {
    const socket = this.response.socket;
    return socket?.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
  }

  write(message: unknown): boolean {
    if (this.finished || this.response.destroyed) return false;
    let line: string;
    try {
      line = `{"result":${this.encode(message)}}\n`;
    } catch (cause) {
      this.destroy({ code: Status.INTERNAL, details: `flotilla: cannot encode response: ${String(cause)}` });
      return false;
    }
    if (!this.response.headersSent) this.response.writeHead(200, STREAM_HEADERS);
    return this.response.write(line);
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.response.headersSent) this.response.writeHead(200, STREAM_HEADERS);
    this.response.end();
  }

  destroy(error: StatusError): void {
    if (this.finished) return;
    this.finished = true;
    const code = error.code ?? Status.UNKNOWN;
    if (!this.response.headersSent) this.response.writeHead(httpStatusFor(code), STREAM_HEADERS);
    this.response.end(streamErrorChunk({ code, message: error.details ?? '' }));
  }
}
