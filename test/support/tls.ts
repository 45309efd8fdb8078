// Throwaway certificate authorities for TLS tests, made at test time with the `openssl` CLI
// (Debian package `openssl`, installed by .ci/run) so no private key is ever committed.
//
// Why the openssl CLI and not an npm library: it is the tool docs/tls.md tells users to run, so
// the tests exercise the same commands; it makes EC keys in milliseconds (pure-JS libraries such
// as node-forge only make RSA keys, slowly); and it adds no dependency. Node itself can parse
// certificates (crypto.X509Certificate) but cannot issue them.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const OPENSSL = process.env.FLOTILLA_OPENSSL_BIN ?? '/usr/bin/openssl';
/** Long enough for any test run; short enough that a leaked file is worthless soon. */
const VALIDITY_DAYS = '2';
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Paths of one PEM key pair (and its issuer's certificate, for the --cacert side). */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** Both usages, as etcd's docs advise: members present the same pair as servers and as clients. */
const LEAF_EXTENSIONS = [
  'basicConstraints=critical,CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth,clientAuth',
  'subjectAltName=IP:127.0.0.1,DNS:localhost',
].join('\n');

export class TestCa {
  private serial = 1;

  private constructor(
    readonly directory: string,
    readonly name: string,
    /** The CA certificate (what --trusted-ca-file and etcdctl --cacert take). */
    readonly cert: string,
    private readonly key: string,
  ) {}

  /** A new self-signed CA in a fresh temporary directory (remove it with `dispose`). */
  static async create(name: string): Promise<TestCa> {
    if (!existsSync(OPENSSL)) throw new Error(`${OPENSSL} is required (Debian package openssl)`);
    const directory = mkdtempSync(join(tmpdir(), `flotilla-ca-${name}-`));
    const cert = join(directory, 'ca.crt');
    const key = join(directory, 'ca.key');
    await run(OPENSSL, [
      'req',
      '-x509',
      ...KEY_ARGS,
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      VALIDITY_DAYS,
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return new TestCa(directory, name, cert, key);
  }

  /** A key pair signed by this CA, valid for 127.0.0.1 and localhost, for servers and clients. */
  async issue(commonName: string): Promise<KeyPair> {
    const base = join(this.directory, commonName);
    // Files are named after the common name: issuing a name twice would overwrite a pair in use.
    if (existsSync(`${base}.crt`)) throw new Error(`${this.name} already issued a pair for ${commonName}`);
    const request = `${base}.csr`;
    const extensions = `${base}.ext`;
    writeFileSync(extensions, `${LEAF_EXTENSIONS}\n`);
    await run(OPENSSL, [
      'req',
      '-new',
      ...KEY_ARGS,
      '-keyout',
      `${base}.key`,
      '-out',
      request,
      '-subj',
      `/CN=${commonName}`,
    ]);
    await run(OPENSSL, [
      'x509',
      '-req',
      '-in',
      request,
      '-CA',
      this.cert,
      '-CAkey',
      this.key,
      '-set_serial',
      String(this.serial++),
      '-days',
      VALIDITY_DAYS,
      '-extfile',
      extensions,
      '-out',
      `${base}.crt`,
    ]);
    return { cert: `${base}.crt`, key: `${base}.key`, ca: this.cert };
  }

  dispose(): void {
    rmSync(this.directory, { recursive: true, force: true });
  }
}
