// One client port, two protocols, as etcd serves them: gRPC clients open a cleartext connection
// with the HTTP/2 connection preface straight away ("prior knowledge", RFC 9113 §3.4: there is no
// upgrade step), while curl, Patroni and other users of the JSON gateway speak HTTP/1.1. The first
// bytes of each connection decide which server gets it; they are pushed back onto the socket so
// that server reads the connection from its first byte.
//
// Behind TLS the split is the same, made on the decrypted bytes. ALPN only steers: gRPC clients
// (grpc-go, grpc-js) offer just "h2"; curl and browsers offer "h2" and "http/1.1" and are given
// HTTP/1.1, because the JSON gateway speaks HTTP/1.1 (etcd's gateway also answers over HTTP/2;
// ours does not, so a client that can do both is steered to the one that works).

import net from 'node:net';
import {
  createTlsListener,
  type TlsListenerOptions,
  type TlsRefusalListener,
} from '../../transport/tls-listener.js';

/** RFC 9113 §3.4: every HTTP/2 connection starts with exactly these 24 bytes. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** A connection that sends nothing for this long before we can tell its protocol is dropped. */
const SNIFF_TIMEOUT_MS = 10_000;

/** Where a connection goes once its protocol is known: a server's 'connection' handling. */
export interface ConnectionTarget {
  emit(event: 'connection', socket: net.Socket): boolean;
}

/** A TCP listener handing HTTP/2 connections to `http2Server` and all others to `httpServer`. */
export function createSniffingListener(
  http2Server: ConnectionTarget,
  httpServer: ConnectionTarget,
): net.Server {
  return net.createServer((socket) => sniff(socket, http2Server, httpServer));
}

/** The same split behind a TLS handshake (see the file comment for the ALPN choice). */
export function createTlsSniffingListener(
  options: TlsListenerOptions,
  http2Server: ConnectionTarget,
  httpServer: ConnectionTarget,
  onRefused: TlsRefusalListener,
): net.Server {
  return createTlsListener(
    { ...options, ALPNCallback: chooseAlpnProtocol },
    (socket) => sniff(socket, http2Server, httpServer),
    onRefused,
  );
}

/** Called only when the client offers ALPN; undefined refuses a client that offers neither. */
function chooseAlpnProtocol({ protocols }: { protocols: string[] }): string | undefined {
  if (protocols.includes('http/1.1')) return 'http/1.1';
  if (protocols.includes('h2')) return 'h2';
  return undefined;
}

function sniff(socket: net.Socket, http2Server: ConnectionTarget, httpServer: ConnectionTarget): void {
  let received: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
  const giveUp = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, HTTP2_PREFACE.length);
    const isHttp2 = received.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isHttp2 && received.length < HTTP2_PREFACE.length) return; // a prefix so far: wait
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', giveUp);
    socket.off('error', giveUp);
    socket.pause();
    socket.unshift(received);
    if (isHttp2) {
      // node:http2 reads bytes already buffered on the socket when the session starts; resuming
      // here would emit them as 'data' events nobody listens to.
      http2Server.emit('connection', socket);
    } else {
      httpServer.emit('connection', socket);
      socket.resume();
    }
  };
  socket.on('data', onData);
  socket.on('end', giveUp);
  socket.on('error', giveUp);
}
