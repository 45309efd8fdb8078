// TLS key material for the client port and the peer port, read once at startup from the files
// named by etcd's flags (--cert-file… and --peer-cert-file…). A file that cannot be read or a
// key pair Node cannot use stops the member with a message naming the flag, before it listens.

import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { TlsListenerOptions } from '../transport/tls-listener.js';
import { ConfigError, type TlsFiles } from './config.js';

/** PEM bytes for one side (client or peer), and whether it demands certificates from callers. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Trusted CAs; null = Node's bundled roots (no client certificates can then be checked). */
  readonly ca: Buffer | null;
  readonly clientCertAuth: boolean;
}

/** Reads a side's files; null when no key pair was configured for that side. */
export function loadTlsMaterial(files: TlsFiles, prefix: '' | 'peer-'): TlsMaterial | null {
  if (files.certFile === null || files.keyFile === null) return null;
  const material: TlsMaterial = {
    cert: readPem(`${prefix}cert-file`, files.certFile),
    key: readPem(`${prefix}key-file`, files.keyFile),
    ca: files.trustedCaFile === null ? null : readPem(`${prefix}trusted-ca-file`, files.trustedCaFile),
    clientCertAuth: files.clientCertAuth,
  };
  try {
    // Fails now on a key that does not match the certificate, not at the first connection.
    tls.createSecureContext(clientTlsOptions(material));
  } catch (error) {
    throw new ConfigError(
      `--${prefix}cert-file ${files.certFile}, --${prefix}key-file ${files.keyFile}: ${(error as Error).message}`,
    );
  }
  return material;
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`--${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * Options for a TLS listener. With client-cert-auth a caller without a certificate signed by
 * the trusted CA is refused right after the handshake (etcd's RequireAndVerifyClientCert), so
 * not one byte of its gRPC, JSON or peer protocol is read.
 */
export function listenerTlsOptions(material: TlsMaterial): TlsListenerOptions {
  return { secureContext: clientTlsOptions(material), requireClientCert: material.clientCertAuth };
}

/** Options for dialling another member: present our certificate, trust the configured CA. */
export function clientTlsOptions(material: TlsMaterial | null): tls.ConnectionOptions {
  if (material === null) return {};
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca === null ? {} : { ca: material.ca }),
  };
}
