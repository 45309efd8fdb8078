// One client port, two protocols, as etcd serves them: gRPC clients open a cleartext connection
// with the HTTP/2 connection preface straight away ("prior knowledge", RFC 9113 §3.4: there is no
// upgrade step), while curl, Patroni and other users of the JSON gateway speak HTTP/1.1. The first
// bytes of each connection decide which server gets it; they are pushed back onto the socket so
// that server reads the connection from its first byte.

import net from 'node:net';

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
