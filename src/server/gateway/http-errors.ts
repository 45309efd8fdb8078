// Errors as etcd 3.4's gateway (grpc-gateway v1.9) reports them: the gRPC status code mapped to an
// HTTP status (runtime.HTTPStatusFromCode) and a JSON body `{"error","message","code"}`; inside a
// stream that already started, one last chunk `{"error":{"grpc_code","http_code","message",
// "http_status"}}`. Plain-text answers for paths and methods that do not exist are Go's.

import http from 'node:http';
import { Status } from '../api/errors.js';
import { goJsonString } from './go-text.js';

/** runtime.HTTPStatusFromCode, grpc-gateway v1. */
const HTTP_STATUS_BY_GRPC_CODE: Readonly<Record<number, number>> = {
  [Status.OK]: 200,
  [Status.CANCELLED]: 408,
  [Status.UNKNOWN]: 500,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.UNAUTHENTICATED]: 401,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.FAILED_PRECONDITION]: 412,
  [Status.ABORTED]: 409,
  [Status.OUT_OF_RANGE]: 400,
  [Status.UNIMPLEMENTED]: 501,
  [Status.INTERNAL]: 500,
  [Status.UNAVAILABLE]: 503,
  [Status.DATA_LOSS]: 500,
};

export function httpStatusFor(grpcCode: number): number {
  return HTTP_STATUS_BY_GRPC_CODE[grpcCode] ?? 500;
}

/** A gRPC status as the gateway reports it. */
export interface GatewayError {
  readonly code: number;
  readonly message: string;
}

/** Fields jsonpb leaves out when empty, as etcd's gateway does. */
function jsonFields(fields: [string, string | number][]): string {
  const present = fields.filter(([, value]) => value !== '' && value !== 0);
  return `{${present.map(([name, value]) => `"${name}":${typeof value === 'number' ? value : goJsonString(value)}`).join(',')}}`;
}

/** The body of a failed unary call (runtime.DefaultHTTPError). */
export function errorBody(error: GatewayError): string {
  return jsonFields([
    ['error', error.message],
    ['message', error.message],
    ['code', error.code],
  ]);
}

/** The last chunk of a stream that fails (runtime.streamChunk with an error). */
export function streamErrorChunk(error: GatewayError): string {
  const httpCode = httpStatusFor(error.code);
  const inner = jsonFields([
    ['grpc_code', error.code],
    ['http_code', httpCode],
    ['message', error.message],
    ['http_status', http.STATUS_CODES[httpCode] ?? ''],
  ]);
  return `{"error":${inner}}`;
}

/** Go's http.Error: a plain-text line, as etcd answers unknown paths and wrong methods. */
export function sendPlainText(response: http.ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}
