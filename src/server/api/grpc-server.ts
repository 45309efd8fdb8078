// The gRPC server on node:http2. grpc-js's server costs about 55 µs per call on this class of
// machine against about 30 µs for bare node:http2 (ANCHORS.md), and at etcd's write rates that
// difference is most of a core, so the client port speaks gRPC's wire protocol itself:
//
//   request:  HEADERS (:path /package.Service/Method, content-type application/grpc[+proto])
//             DATA: messages, each a 1-byte compressed flag, a 4-byte big-endian length, the bytes
//   response: HEADERS (:status 200), DATA messages, TRAILERS (grpc-status, grpc-message)
//             or, for an error before any message, one HEADERS frame carrying the status.
//
// Services are grpc-js ServiceDefinitions (from @grpc/proto-loader, so messages are encoded
// exactly as before) and implementations have grpc-js's shapes: unary `(call, callback)`,
// streaming `(call)` with write/end/destroy and data/end/cancelled/close/drain events.

import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type { Socket } from 'node:net';
import zlib from 'node:zlib';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { TlsListenerOptions, TlsRefusalListener } from '../../transport/tls-listener.js';
import { messageTooLarge, Status } from './errors.js';
import {
  type ConnectionTarget,
  createSniffingListener,
  createTlsSniffingListener,
} from './protocol-sniffer.js';
import { RequestMetadata, type StatusError, type StreamCall, StreamCallBase } from './stream-call.js';

const MESSAGE_PREFIX_BYTES = 5;
/** Unary responses up to this size are sent as one buffer, prefix and body copied together. */
const COPY_FRAME_BYTES_MAX = 64 * 1024;
const { HTTP2_HEADER_PATH, HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE } = http2.constants;

/** Headers of every successful response; node:http2 copies them, so one object serves all. */
const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = {
  [HTTP2_HEADER_STATUS]: 200,
  [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
};
const OK_TRAILERS: http2.OutgoingHttpHeaders = { 'grpc-status': '0' };

export type UnaryCallback = (error: StatusError | null, response?: unknown) => void;

/** What a unary implementation gets: the decoded request and whether the client gave up. */
export interface UnaryCall {
  readonly request: unknown;
  readonly cancelled: boolean;
  readonly metadata: RequestMetadata;
  /** The client's address (the key of per-client limits such as authentication attempts). */
  readonly peer: string;
}

export type UnaryImplementation = (call: UnaryCall, callback: UnaryCallback) => void;
export type StreamImplementation = (call: StreamCall) => void;
export type ServiceImplementation = Record<string, UnaryImplementation | StreamImplementation>;

/** A registered method: its grpc-js definition (codecs, streaming kind) and implementation. */
export interface Method {
  readonly definition: MethodDefinition<unknown, unknown>;
  readonly implementation: UnaryImplementation | StreamImplementation;
}

/** Serves the HTTP/1.1 requests that arrive on the client port (etcd's JSON gateway). */
export type HttpHandler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

/** How long an HTTP/1.1 connection may sit idle between requests before the server closes it. */
const HTTP_IDLE_TIMEOUT_MS = 10 * 60_000;

export interface GrpcServerOptions {
  /** Largest request message accepted; larger ones get RESOURCE_EXHAUSTED, with grpc-go's text. */
  readonly maxReceiveMessageBytes: number;
  /** Open connections per listener (both protocols); the OS accepts more, the server closes them. */
  readonly maxConnections: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS; nghttp2 resets streams beyond it with REFUSED_STREAM. */
  readonly maxConcurrentStreams: number;
  /** Told once at the start and once at the end of each burst of refused connections. */
  readonly onConnectionsRefused: (event: ConnectionsRefused) => void;
}

/** A TLS listener's key material and checks, and where failed handshakes are reported. */
export interface ListenTls {
  readonly options: TlsListenerOptions;
  readonly onRefused: TlsRefusalListener;
}

/** Behind TLS without a gateway, a connection that is not HTTP/2 has nobody to answer it. */
const REFUSE_HTTP1: ConnectionTarget = {
  emit: (_event, socket) => {
    socket.destroy();
    return true;
  },
};

/** A burst of connections closed at accept because the listener was at maxConnections. */
export type ConnectionsRefused =
  | { readonly phase: 'started'; readonly limit: number }
  | { readonly phase: 'ended'; readonly limit: number; readonly refused: number };

export class GrpcServer {
  private readonly methods = new Map<string, Method>();
  private readonly listeners: net.Server[] = [];
  private readonly httpServers: http.Server[] = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(private readonly options: GrpcServerOptions) {}

  addService(service: ServiceDefinition, implementation: ServiceImplementation): void {
    for (const [name, definition] of Object.entries(service)) {
      const handler = implementation[name];
      if (handler === undefined) continue; // answered UNIMPLEMENTED, as grpc-js does
      this.methods.set(definition.path, { definition, implementation: handler });
    }
  }

  /** The method registered under a gRPC path ("/etcdserverpb.KV/Range"), if any. */
  lookup(path: string): Method | undefined {
    return this.methods.get(path);
  }

  /**
   * Listens on host:port (0 for any free port); resolves with the bound port. With an
   * `httpHandler`, HTTP/1.1 connections on the same port go to it (see protocol-sniffer.ts).
   * With `tls`, every connection must complete a TLS handshake first.
   */
  listen(host: string, port: number, httpHandler?: HttpHandler, tls?: ListenTls): Promise<number> {
    const server = http2.createServer({
      settings: { maxConcurrentStreams: this.options.maxConcurrentStreams },
    });
    // Responses are small writes; Nagle's algorithm would hold one back behind an unacknowledged one.
    server.on('connection', (socket: Socket) => socket.setNoDelay(true));
    server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => undefined); // a client vanishing is not the server's error
    });
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    const listener = this.listenerFor(server, httpHandler, tls);
    this.limitConnections(listener);
    this.listeners.push(listener);
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        resolve((listener.address() as { port: number }).port);
      });
    });
  }

  private listenerFor(
    http2Server: http2.Http2Server,
    httpHandler: HttpHandler | undefined,
    tls: ListenTls | undefined,
  ): net.Server {
    const httpServer = httpHandler === undefined ? undefined : this.gatewayServer(httpHandler);
    if (tls !== undefined) {
      return createTlsSniffingListener(tls.options, http2Server, httpServer ?? REFUSE_HTTP1, tls.onRefused);
    }
    return httpServer === undefined ? http2Server : createSniffingListener(http2Server, httpServer);
  }

  /**
   * net.Server closes a connection at accept once maxConnections are open and emits 'drop'. A
   * flood of refused connections must not flood the log too: one line when refusing starts, one
   * with the count when a connection is accepted again.
   */
  private limitConnections(listener: net.Server): void {
    const limit = this.options.maxConnections;
    listener.maxConnections = limit;
    let refused = 0;
    listener.on('drop', () => {
      if (refused === 0) this.options.onConnectionsRefused({ phase: 'started', limit });
      refused++;
    });
    listener.on('connection', () => {
      if (refused === 0) return;
      this.options.onConnectionsRefused({ phase: 'ended', limit, refused });
      refused = 0;
    });
  }

  private gatewayServer(httpHandler: HttpHandler): http.Server {
    // No request timeout: a watch's request body may stay open for as long as the watch does.
    const httpServer = http.createServer({ requestTimeout: 0 }, httpHandler);
    httpServer.keepAliveTimeout = HTTP_IDLE_TIMEOUT_MS;
    this.httpServers.push(httpServer);
    return httpServer;
  }

  /** Stops accepting connections; resolves once every open connection has closed. */
  async shutdown(graceMs: number): Promise<void> {
    const closed = this.listeners.map(
      (listener) => new Promise<void>((resolve) => listener.close(() => resolve())),
    );
    for (const session of this.sessions) session.close();
    for (const server of this.httpServers) server.closeIdleConnections();
    // Streams (watches) would hold a graceful close open forever: force after a bound.
    const force = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
      for (const server of this.httpServers) server.closeAllConnections();
    }, graceMs);
    force.unref();
    await Promise.all(closed);
    clearTimeout(force);
  }

  /**
   * grpc-go's text for a method it does not serve (what etcd 3.4 answers, e.g. for AuthStatus,
   * which its proto lacks): "unknown method M for service S", or "unknown service S".
   */
  private unimplemented(path: string): string {
    const slash = path.lastIndexOf('/');
    const service = path.slice(1, slash);
    const known = [...this.methods.keys()].some((registered) => registered.startsWith(`/${service}/`));
    return known
      ? `unknown method ${path.slice(slash + 1)} for service ${service}`
      : `unknown service ${service}`;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined); // reset by the client: the call's close event says so
    // node:http2 emits 'stream' a tick after the HEADERS frame: a reset that came in the same
    // read has destroyed it by now, and answering it would throw out of this listener.
    if (stream.destroyed || stream.closed) return;
    const path = headers[HTTP2_HEADER_PATH] as string;
    const contentType = headers[HTTP2_HEADER_CONTENT_TYPE];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ [HTTP2_HEADER_STATUS]: 415 }, { endStream: true });
      return;
    }
    const method = this.methods.get(path);
    if (method === undefined) {
      sendStatus(stream, { code: Status.UNIMPLEMENTED, details: this.unimplemented(path) });
      return;
    }
    const reader = new MessageReader(this.options.maxReceiveMessageBytes, headers['grpc-encoding']);
    if (method.definition.requestStream) {
      const call = new Http2StreamCall(stream, headers, method.definition, undefined);
      readMessages(stream, reader, method.definition, call);
      (method.implementation as StreamImplementation)(call);
      return;
    }
    readSingleMessage(stream, reader, method.definition, (request) => {
      if (method.definition.responseStream) {
        (method.implementation as StreamImplementation)(
          new Http2StreamCall(stream, headers, method.definition, request),
        );
      } else {
        callUnary(stream, headers, method, request);
      }
    });
  }
}

function callUnary(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  method: Method,
  request: unknown,
): void {
  const call = new Http2UnaryCall(stream, headers, request);
  (method.implementation as UnaryImplementation)(call, (error, response) => {
    if (stream.destroyed || stream.closed) return;
    if (error !== null) {
      sendStatus(stream, error);
      return;
    }
    let body: Buffer;
    try {
      body = method.definition.responseSerialize(response);
    } catch (cause) {
      sendStatus(stream, {
        code: Status.INTERNAL,
        details: `flotilla: cannot encode response: ${String(cause)}`,
      });
      return;
    }
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
    if (body.length < COPY_FRAME_BYTES_MAX) {
      stream.end(frameMessage(body));
    } else {
      // A large response (a Range of thousands of keys) is not copied behind its 5-byte prefix.
      stream.write(messagePrefix(body.length));
      stream.end(body);
    }
  });
}

/**
 * A class, not an object literal with a `get cancelled()`: V8 gives each such literal its own
 * hidden class holding that request's getter closure, and that map, in old space, kept the closure,
 * the stream and everything reachable from it alive through every scavenge until the next full
 * GC: ~3 KB of each request promoted at 1 put in flight, ~90 B with the class (docs/benchmarks.md).
 */
class Http2UnaryCall implements UnaryCall {
  readonly metadata: RequestMetadata;
  readonly peer: string;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    readonly request: unknown,
  ) {
    this.metadata = new RequestMetadata(headers, () => stream.session?.socket);
    this.peer = stream.session?.socket?.remoteAddress ?? 'unknown';
  }

  get cancelled(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }
}

/** A status before any response message: one HEADERS frame ("trailers-only"). */
function sendStatus(stream: http2.ServerHttp2Stream, error: StatusError): void {
  if (stream.destroyed || stream.closed) return;
  const trailers = {
    'grpc-status': String(error.code ?? Status.UNKNOWN),
    'grpc-message': encodeURI(error.details ?? ''),
  };
  if (stream.headersSent) {
    stream.once('wantTrailers', () => stream.sendTrailers(trailers));
    stream.end();
  } else {
    stream.respond({ ...RESPONSE_HEADERS, ...trailers }, { endStream: true });
  }
}

function messagePrefix(bodyBytes: number): Buffer {
  return writeMessagePrefix(Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES), bodyBytes);
}

function frameMessage(body: Buffer): Buffer {
  const frame = writeMessagePrefix(Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES + body.length), body.length);
  body.copy(frame, MESSAGE_PREFIX_BYTES);
  return frame;
}

/** gRPC's message prefix: not compressed (0), then the body's length, big-endian. */
function writeMessagePrefix(target: Buffer, bodyBytes: number): Buffer {
  target[0] = 0;
  target.writeUInt32BE(bodyBytes, 1);
  return target;
}

/** Unary and server-streaming calls: exactly one request message, then the client half-closes. */
function readSingleMessage(
  stream: http2.ServerHttp2Stream,
  reader: MessageReader,
  definition: MethodDefinition<unknown, unknown>,
  onRequest: (request: unknown) => void,
): void {
  const messages: Buffer[] = [];
  let failed = false;
  stream.on('data', (chunk: Buffer) => {
    if (failed) return;
    const error = reader.push(chunk, messages);
    if (error !== null) {
      failed = true;
      sendStatus(stream, error);
    }
  });
  stream.on('end', () => {
    if (failed) return;
    if (messages.length !== 1) {
      const details = `flotilla: a unary request needs exactly one message, got ${messages.length}`;
      sendStatus(stream, { code: Status.UNIMPLEMENTED, details });
      return;
    }
    const request = decode(definition, messages[0]);
    if (request instanceof DecodeError) sendStatus(stream, request.status);
    else onRequest(request);
  });
}

/** Client- and bidi-streaming calls: every message becomes a 'data' event on the call. */
function readMessages(
  stream: http2.ServerHttp2Stream,
  reader: MessageReader,
  definition: MethodDefinition<unknown, unknown>,
  call: Http2StreamCall,
): void {
  const messages: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    const error = reader.push(chunk, messages);
    for (const message of messages) {
      const request = decode(definition, message);
      if (request instanceof DecodeError) {
        call.destroy(request.status);
        return;
      }
      call.emit('data', request);
    }
    messages.length = 0;
    if (error !== null) call.destroy(error);
  });
  stream.on('end', () => call.emit('end'));
}

class DecodeError {
  constructor(readonly status: StatusError) {}
}

function decode(definition: MethodDefinition<unknown, unknown>, message: Buffer): unknown {
  try {
    return definition.requestDeserialize(message);
  } catch (cause) {
    return new DecodeError({
      code: Status.INTERNAL,
      details: `Error deserializing request: ${String(cause)}`,
    });
  }
}

/** Splits DATA chunks into gRPC messages, enforcing the size limit and undoing compression. */
class MessageReader {
  private pending: Buffer | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly encoding: string | string[] | undefined,
  ) {}

  /** Appends complete messages to `out`; returns a status if the stream must fail. */
  push(chunk: Buffer, out: Buffer[]): StatusError | null {
    let data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    while (data.length >= MESSAGE_PREFIX_BYTES) {
      const length = data.readUInt32BE(1);
      if (length > this.maxBytes) {
        return { code: Status.RESOURCE_EXHAUSTED, details: messageTooLarge(length, this.maxBytes) };
      }
      if (data.length < MESSAGE_PREFIX_BYTES + length) break;
      const body = data.subarray(MESSAGE_PREFIX_BYTES, MESSAGE_PREFIX_BYTES + length);
      if (data[0] === 0) out.push(body);
      else {
        const inflated = this.inflate(body);
        if (!Buffer.isBuffer(inflated)) return inflated;
        out.push(inflated);
      }
      data = data.subarray(MESSAGE_PREFIX_BYTES + length);
    }
    if (data.length > 0) this.pending = Buffer.from(data); // own it: chunks are not ours to keep
    return null;
  }

  private inflate(body: Buffer): Buffer | StatusError {
    try {
      if (this.encoding === 'gzip') return zlib.gunzipSync(body, { maxOutputLength: this.maxBytes });
      if (this.encoding === 'deflate') return zlib.inflateSync(body, { maxOutputLength: this.maxBytes });
    } catch (cause) {
      return { code: Status.INTERNAL, details: `Received invalid compressed message: ${String(cause)}` };
    }
    return {
      code: Status.UNIMPLEMENTED,
      details: `Received message compressed with unsupported encoding "${String(this.encoding)}"`,
    };
  }
}

/** A StreamCall on an HTTP/2 stream, speaking gRPC's framing. */
class Http2StreamCall extends StreamCallBase {
  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    private readonly definition: MethodDefinition<unknown, unknown>,
    request: unknown,
  ) {
    const socket = () => stream.session?.socket as Socket | undefined;
    super(stream, socket, new RequestMetadata(headers, socket), request);
  }

  write(message: unknown): boolean {
    if (this.finished || this.stream.destroyed || this.stream.closed) return false;
    if (!this.stream.headersSent) this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    return this.stream.write(frameMessage(this.definition.responseSerialize(message)));
  }

  end(): void {
    if (!this.finish()) return;
    // A connection that vanished destroys its streams before their 'end' events run, and the
    // handlers answer an 'end' by ending the call: there is no one left to answer.
    if (this.stream.destroyed || this.stream.closed) return;
    if (this.stream.headersSent) {
      this.stream.once('wantTrailers', () => this.stream.sendTrailers(OK_TRAILERS));
      this.stream.end();
    } else {
      this.stream.respond({ ...RESPONSE_HEADERS, ...OK_TRAILERS }, { endStream: true });
    }
  }

  destroy(error: StatusError): void {
    if (this.finish()) sendStatus(this.stream, error);
  }
}
