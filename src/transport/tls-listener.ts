// A TLS listener that refuses callers without an acceptable certificate before any of their
// bytes are read, and says why. Used by the peer port (transport.ts) and the client port
// (server/api/protocol-sniffer.ts).
//
// Node's own `rejectUnauthorized` on a server destroys a socket whose certificate fails
// verification without reporting the reason or the caller's address (the 'tlsClientError' it
// emits is a bare "socket hang up" on an already destroyed socket). So the listener asks for a
// certificate, lets OpenSSL finish the handshake, and checks the verdict itself, synchronously,
// before handing the socket on: a refused caller's first byte is never read. Etcd's
// equivalent is Go's RequireAndVerifyClientCert, which logs "rejected connection from …".

import tls from 'node:tls';

/** Why a caller was refused: its address ("host:port") and a reason an operator can act on. */
export type TlsRefusalListener = (remoteAddress: string, reason: string) => void;

export interface TlsListenerOptions {
  /** Key pair and trusted CAs (cert, key, ca). */
  readonly secureContext: tls.SecureContextOptions;
  /** Refuse callers without a certificate signed by one of `ca` (etcd's --client-cert-auth). */
  readonly requireClientCert: boolean;
  readonly ALPNCallback?: (arg: { servername: string; protocols: string[] }) => string | undefined;
}

export function createTlsListener(
  options: TlsListenerOptions,
  onAccepted: (socket: tls.TLSSocket) => void,
  onRefused: TlsRefusalListener,
): tls.Server {
  const server = tls.createServer(
    {
      ...options.secureContext,
      noDelay: true,
      requestCert: options.requireClientCert,
      // Checked below, where the reason and the address are still at hand.
      rejectUnauthorized: false,
      ...(options.ALPNCallback === undefined ? {} : { ALPNCallback: options.ALPNCallback }),
    },
    (socket) => {
      const refusal = options.requireClientCert ? clientCertificateProblem(socket) : null;
      if (refusal === null) {
        onAccepted(socket);
        return;
      }
      onRefused(remoteAddressOf(socket), refusal);
      socket.destroy();
    },
  );
  // Handshakes that fail inside OpenSSL: plain HTTP or plain peer frames on a TLS port, no
  // shared protocol version or cipher.
  server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
    socket.destroy();
    // A caller that hangs up mid-handshake (etcdctl closing spare connections as it exits) was
    // not refused: nothing was accepted from it, and a warning would only be noise.
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') return;
    onRefused(remoteAddressOf(socket), `TLS handshake failed: ${opensslReason(error)}`);
  });
  return server;
}

/** Null when the caller presented a certificate that verifies against the trusted CAs. */
function clientCertificateProblem(socket: tls.TLSSocket): string | null {
  if (socket.authorized) return null;
  const certificate = socket.getPeerCertificate();
  // OpenSSL reports a missing certificate as UNABLE_TO_GET_ISSUER_CERT, which misleads.
  if (certificate === null || Object.keys(certificate).length === 0) {
    return 'no client certificate (client certificate authentication is on)';
  }
  const subject = certificate.subject?.CN ?? '?';
  const issuer = certificate.issuer?.CN ?? '?';
  return `client certificate CN=${subject} issued by CN=${issuer} rejected: ${String(socket.authorizationError)}`;
}

function remoteAddressOf(socket: tls.TLSSocket): string {
  // Undefined once the caller has gone (e.g. it hung up mid-handshake).
  if (socket.remoteAddress === undefined) return 'a caller that already disconnected';
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

/** OpenSSL's short reason ("http request", "wrong version number") instead of its full error line. */
function opensslReason(error: Error): string {
  const reason = (error as Error & { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : error.message;
}
