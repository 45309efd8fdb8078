// What every front end of the client port hands the services: request metadata, and streaming
// calls with grpc-js's shape. gRPC over HTTP/2 (grpc-server.ts) and etcd's JSON gateway
// (gateway/http-stream-call.ts) differ only in how they write; the life cycle is shared here.

import { EventEmitter } from 'node:events';
import type http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ServiceError } from '@grpc/grpc-js';

export type StatusError = Partial<Pick<ServiceError, 'code' | 'details'>>;

/** A call's request metadata (HTTP/2 headers), read the way grpc-js's Metadata is read. */
export class RequestMetadata {
  constructor(
    private readonly headers: http2.IncomingHttpHeaders,
    /** The connection, when a verified client certificate may name the caller (gRPC over TLS). */
    private readonly socket: () => unknown = () => null,
  ) {}

  /**
   * The common name of the client certificate the connection was verified with, or null (no TLS,
   * no certificate, not verified, or no CN). etcd uses it as the user name of a call that carries
   * no token while auth is enabled (AuthInfoFromTLS).
   */
  certificateCommonName(): string | null {
    const socket = this.socket() as Partial<Pick<TLSSocket, 'authorized' | 'getPeerCertificate'>> | null;
    if (socket === null || socket.authorized !== true || socket.getPeerCertificate === undefined) return null;
    const cn: unknown = socket.getPeerCertificate().subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    return typeof name === 'string' && name !== '' ? name : null;
  }

  get(key: string): string[] {
    const value = this.headers[key];
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
  }
}

/**
 * A streaming call, with the subset of grpc-js's ServerDuplexStream the services use: write()
 * returns false when the client reads slowly ('drain' follows), end() finishes with OK,
 * destroy(status) finishes with an error; 'cancelled' when the client goes away first.
 * Requests arrive as 'data' events and the client's half-close as 'end'.
 */
export interface StreamCall extends EventEmitter {
  readonly request: unknown;
  readonly metadata: RequestMetadata;
  readonly cancelled: boolean;
  readonly peer: string;
  write(message: unknown): boolean;
  end(): void;
  destroy(error: StatusError): void;
}

/**
 * The life cycle both transports share: finished once (end, destroy, or the client going away,
 * which also emits 'cancelled'), 'drain' and 'close' passed on from the transport's stream.
 */
export abstract class StreamCallBase extends EventEmitter implements StreamCall {
  cancelled = false;
  readonly metadata: RequestMetadata;
  protected finished = false;

  constructor(
    source: EventEmitter,
    private readonly socket: () => Socket | null | undefined,
    metadata: RequestMetadata,
    readonly request: unknown,
  ) {
    super();
    this.metadata = metadata;
    source.on('drain', () => this.emit('drain'));
    source.on('close', () => {
      if (this.finish()) {
        this.cancelled = true;
        this.emit('cancelled');
      }
      this.emit('close');
    });
  }

  get peer(): string {
    const socket = this.socket();
    return socket?.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
  }

  /** Marks the call finished; false if it already was (the caller then does nothing). */
  protected finish(): boolean {
    if (this.finished) return false;
    this.finished = true;
    return true;
  }

  abstract write(message: unknown): boolean;
  abstract end(): void;
  abstract destroy(error: StatusError): void;
}
