// etcd's HTTP/JSON gateway (grpc-gateway, as etcd 3.4 serves it on the client port): POST
// /v3/kv/range and friends with JSON bodies, answered by the very gRPC method implementations the
// gRPC clients reach (grpc-server.ts lookup()), so both APIs share one set of semantics. This file
// routes a request; message-codec.ts translates messages; bidi-stream.ts and http-stream-call.ts
// carry the streaming calls. Plus etcd's GET /version and GET /health.

import type http from 'node:http';
import type { ProtoObject } from '../api/convert.js';
import { GrpcError, Status } from '../api/errors.js';
import type {
  HttpHandler,
  Method,
  StreamImplementation,
  UnaryCall,
  UnaryImplementation,
} from '../api/grpc-server.js';
import { RequestMetadata, type StatusError } from '../api/stream-call.js';
import { serveBidiStream } from './bidi-stream.js';
import { readValue } from './go-json.js';
import { errorBody, httpStatusFor, sendPlainText } from './http-errors.js';
import { HttpStreamCall } from './http-stream-call.js';
import { decodeMessage, JsonRequestError } from './json-request.js';
import { parseValidJson } from './json-tree.js';
import { MessageCodec } from './message-codec.js';
import { matchRoute, type Route } from './routes.js';

export interface GatewayOptions {
  readonly routes: ReadonlyMap<string, Route>;
  /** The gRPC server's methods by gRPC path. */
  readonly lookup: (grpcPath: string) => Method | undefined;
  /** The gRPC server's limit on one request message. */
  readonly maxRequestBytes: number;
  /** What GET /version reports. */
  readonly version: { readonly server: string; readonly cluster: string };
  /** GET /health: whether this member can serve a linearizable read now. */
  readonly healthy: () => Promise<boolean>;
}

/** etcd answers every path with these (its default --cors is "*"). */
const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'Access-Control-Allow-Headers': 'accept, content-type, authorization',
};

const JSON_HEADERS: http.OutgoingHttpHeaders = {
  'Content-Type': 'application/json',
  'Grpc-Metadata-Content-Type': 'application/grpc',
};

/**
 * Streams that stay open when the request body ends: etcd's Watch server ignores the client's
 * half-close (its recvLoop returns nil on io.EOF), so a one-request watch keeps streaming events.
 */
const OPEN_AFTER_HALF_CLOSE: ReadonlySet<string> = new Set(['/etcdserverpb.Watch/Watch']);

/** Request bodies are JSON with base64 payloads: allow that much more than the message limit. */
const BODY_BYTES_PER_MESSAGE_BYTE = 2;
const BODY_OVERHEAD_BYTES = 64 * 1024;

const EMPTY_MESSAGE_JSON = Buffer.from('{}');

export function createGateway(options: GatewayOptions): HttpHandler {
  const maxBodyBytes = options.maxRequestBytes * BODY_BYTES_PER_MESSAGE_BYTE + BODY_OVERHEAD_BYTES;
  return (request, response) => {
    for (const [name, value] of Object.entries(CORS_HEADERS)) response.setHeader(name, value);
    route(options, maxBodyBytes, request, response).catch((error: unknown) => {
      // Every expected failure is answered inside route(); this is a bug, said plainly.
      sendError(response, { code: Status.INTERNAL, details: `flotilla: gateway error: ${String(error)}` });
    });
  };
}

async function route(
  options: GatewayOptions,
  maxBodyBytes: number,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const url = request.url ?? '/';
  const path = url.split('?', 1)[0];
  if (request.method === 'OPTIONS') {
    response.writeHead(200).end(); // a CORS preflight: the headers are the answer
    return;
  }
  if (path === '/version' || path === '/health') {
    if (request.method !== 'GET') return sendPlainText(response, 405, 'Method Not Allowed');
    return path === '/version' ? sendVersion(options, response) : sendHealth(options, response);
  }
  const matched = matchRoute(options.routes, url);
  // Go's ServeMux and grpc-gateway word their 404s differently; etcd shows both.
  if (matched === 'not-api') return sendPlainText(response, 404, '404 page not found');
  if (matched === 'unknown') return sendPlainText(response, 404, 'Not Found');
  if (request.method !== 'POST') return sendPlainText(response, 405, 'Method Not Allowed');
  return serveMethod(options, matched, maxBodyBytes, request, response);
}

/** A POST to a gateway path: the body decoded and handed to the gRPC method's implementation. */
async function serveMethod(
  options: GatewayOptions,
  matched: Route,
  maxBodyBytes: number,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const method = options.lookup(matched.grpcPath);
  if (method === undefined) return refuseUnimplemented(matched, maxBodyBytes, request, response);
  const codec = new MessageCodec(matched, method.definition, options.maxRequestBytes);
  if (matched.requestStream) {
    serveBidiStream({
      request,
      response,
      codec,
      implementation: method.implementation as StreamImplementation,
      forwardHalfClose: !OPEN_AFTER_HALF_CLOSE.has(matched.grpcPath),
      maxPendingBytes: maxBodyBytes,
    });
    return;
  }
  const body = await readBody(request, maxBodyBytes);
  if (body === 'aborted') return;
  if (body === 'too-large') return sendError(response, bodyTooLarge(maxBodyBytes));
  const decoded = decodeRequest(body, (json) => codec.request(json));
  if ('error' in decoded) return sendError(response, decoded.error);
  if (matched.responseStream) {
    const call = new HttpStreamCall(response, request.headers, decoded.request, (message) =>
      codec.response(message),
    );
    (method.implementation as StreamImplementation)(call);
    return;
  }
  callUnary(method.implementation as UnaryImplementation, codec, decoded.request, request, response);
}

/**
 * A method Flotilla does not serve (most of Auth, Hash): the body is still checked first, as
 * etcd's gateway decodes it before calling, then the answer is what gRPC clients hear.
 */
async function refuseUnimplemented(
  matched: Route,
  maxBodyBytes: number,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const body = await readBody(request, maxBodyBytes);
  if (body === 'aborted') return;
  if (body === 'too-large') return sendError(response, bodyTooLarge(maxBodyBytes));
  const decoded = decodeRequest(body, (json) => decodeMessage(matched.requestType, parseValidJson(json)));
  if ('error' in decoded) return sendError(response, decoded.error);
  sendError(response, {
    code: Status.UNIMPLEMENTED,
    details: `The server does not implement the method ${matched.grpcPath}`,
  });
}

function bodyTooLarge(maxBodyBytes: number): StatusError {
  return {
    code: Status.RESOURCE_EXHAUSTED,
    details: `flotilla: request body larger than ${maxBodyBytes} bytes`,
  };
}

/** The body's first JSON value as a request (json.Decoder.Decode: an empty body is an empty message). */
function decodeRequest(
  body: Buffer,
  toRequest: (json: Uint8Array) => unknown,
): { request: unknown } | { error: StatusError } {
  const next = readValue(body, 0, true);
  if (next.kind === 'error') return { error: { code: Status.INVALID_ARGUMENT, details: next.message } };
  try {
    const json = next.kind === 'value' ? body.subarray(next.start, next.end) : EMPTY_MESSAGE_JSON;
    return { request: toRequest(json) };
  } catch (error) {
    if (error instanceof JsonRequestError) {
      return { error: { code: Status.INVALID_ARGUMENT, details: error.message } };
    }
    if (error instanceof GrpcError) return { error: { code: error.code, details: error.message } };
    throw error;
  }
}

function callUnary(
  implementation: UnaryImplementation,
  codec: MessageCodec,
  message: unknown,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): void {
  const call = new GatewayUnaryCall(message, request, response);
  implementation(call, (error, answer) => {
    if (call.cancelled) return;
    if (error !== null) return sendError(response, error);
    let json: string;
    try {
      json = codec.response(answer);
    } catch (cause) {
      return sendError(response, {
        code: Status.INTERNAL,
        details: `flotilla: cannot encode response: ${String(cause)}`,
      });
    }
    sendBody(response, 200, JSON_HEADERS, json);
  });
}

/** A class rather than a literal with a getter: see Http2UnaryCall in grpc-server.ts. */
class GatewayUnaryCall implements UnaryCall {
  readonly metadata: RequestMetadata;
  readonly peer: string;
  cancelled = false;

  constructor(
    readonly request: unknown,
    incoming: http.IncomingMessage,
    response: http.ServerResponse,
  ) {
    this.metadata = new RequestMetadata(incoming.headers);
    this.peer = incoming.socket.remoteAddress ?? 'unknown';
    response.on('close', () => {
      this.cancelled = true;
    });
  }
}

function sendError(response: http.ServerResponse, error: StatusError): void {
  if (response.headersSent) {
    response.destroy(); // a streamed answer already started: cut it rather than corrupt it
    return;
  }
  const code = error.code ?? Status.UNKNOWN;
  sendBody(
    response,
    httpStatusFor(code),
    { 'Content-Type': 'application/json' },
    errorBody({ code, message: error.details ?? '' }),
  );
}

/** A whole answer with its length, as Go's net/http sends short bodies. */
function sendBody(
  response: http.ServerResponse,
  status: number,
  headers: http.OutgoingHttpHeaders,
  body: string,
): void {
  response.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) }).end(body);
}

function sendVersion(options: GatewayOptions, response: http.ServerResponse): void {
  const body: ProtoObject = { etcdserver: options.version.server, etcdcluster: options.version.cluster };
  sendBody(response, 200, { 'Content-Type': 'application/json' }, JSON.stringify(body));
}

async function sendHealth(options: GatewayOptions, response: http.ServerResponse): Promise<void> {
  const healthy = await options.healthy();
  const body = JSON.stringify({ health: String(healthy) });
  sendBody(response, healthy ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8' }, body);
}

/** The whole body; 'too-large' past `maxBytes` (the rest is read and dropped); 'aborted' if the client left. */
function readBody(
  request: http.IncomingMessage,
  maxBytes: number,
): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length <= maxBytes) chunks.push(chunk);
    });
    request.on('end', () => resolve(length <= maxBytes ? Buffer.concat(chunks) : 'too-large'));
    // 'close' after 'end' finds the promise settled; before it, the client has gone.
    request.on('close', () => resolve('aborted'));
  });
}
