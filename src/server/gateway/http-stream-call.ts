// A StreamCall (grpc-server.ts) over an HTTP/1.1 response, so the gateway drives the same Watch,
// LeaseKeepAlive, Snapshot and Observe implementations as gRPC clients do. Responses go out as
// grpc-gateway streams them: chunked, one `{"result":{...}}` object per line; an error ends the
// stream with one `{"error":{...}}` object. The status line and headers leave with the first of
// these (a stream that never answers never sends them, as in etcd).

import type http from 'node:http';
import type http2 from 'node:http2';
import { Status } from '../api/errors.js';
import { RequestMetadata, type StatusError, StreamCallBase } from '../api/stream-call.js';
import { httpStatusFor, streamErrorChunk } from './http-errors.js';

/** Headers of a streamed answer; grpc-gateway forwards the gRPC server's content type too. */
export const STREAM_HEADERS: http.OutgoingHttpHeaders = {
  'Content-Type': 'application/json',
  'Grpc-Metadata-Content-Type': 'application/grpc',
};

export class HttpStreamCall extends StreamCallBase {
  constructor(
    private readonly response: http.ServerResponse,
    headers: http2.IncomingHttpHeaders,
    request: unknown,
    /** A response message as the JSON text of its `result`. */
    private readonly encode: (message: unknown) => string,
  ) {
    // No certificate names a gateway caller: etcd's gateway reaches its gRPC server on its own
    // connection, so CN-based users work over gRPC only (as in etcd).
    super(response, () => response.socket, new RequestMetadata(headers), request);
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
    if (!this.finish()) return;
    if (!this.response.headersSent) this.response.writeHead(200, STREAM_HEADERS);
    this.response.end();
  }

  destroy(error: StatusError): void {
    if (!this.finish()) return;
    const code = error.code ?? Status.UNKNOWN;
    if (!this.response.headersSent) this.response.writeHead(httpStatusFor(code), STREAM_HEADERS);
    this.response.end(streamErrorChunk({ code, message: error.details ?? '' }));
  }
}
