// Node configuration with etcd's flag names. Sources, lowest precedence first: defaults, a JSON
// config file (--config-file, keys are the flag names), FLOTILLA_* environment variables
// (FLOTILLA_DATA_DIR for --data-dir), then flags. Everything is validated here, at the edge, into
// a typed ServerConfig; a bad value stops the node with a message naming the flag.

import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { JWT_SIGN_METHODS, type JwtOptions, type JwtSignMethod } from '../auth/jwt-tokens.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ClusterMemberUrl {
  readonly name: string;
  readonly peerUrl: string;
}

/** One side's TLS files (etcd's --cert-file… or --peer-cert-file… flags); null = not given. */
export interface TlsFiles {
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly trustedCaFile: string | null;
  /** Refuse, at the TLS handshake, a client without a certificate signed by trustedCaFile. */
  readonly clientCertAuth: boolean;
}

export interface ServerConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly URL[];
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly URL[];
  readonly initialAdvertisePeerUrls: readonly string[];
  readonly initialCluster: readonly ClusterMemberUrl[];
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  /** TLS for https:// --listen-client-urls, and for dialling other members' https client URLs. */
  readonly clientTls: TlsFiles;
  /** TLS for an https:// --listen-peer-urls, and for dialling https:// peer URLs. */
  readonly peerTls: TlsFiles;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  /** Applied entries between two local snapshots (etcd --snapshot-count). */
  readonly snapshotCount: number;
  /** Entries kept behind a snapshot so slow followers catch up from the log (etcd 3.5's flag). */
  readonly snapshotCatchUpEntries: number;
  /**
   * Bytes of entries applied since the last local snapshot that also trigger one, and twice the
   * bytes kept behind it: bounds each member's in-memory log when entries are large.
   */
  readonly snapshotLogBytes: number;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly quotaBackendBytes: number;
  /** Open client-port connections per member; connections beyond it are closed at accept. */
  readonly maxClientConnections: number;
  /** HTTP/2 streams one client connection may have open at once (advertised in SETTINGS). */
  readonly maxConcurrentStreams: number;
  /** Watchers one Watch stream may hold; a create beyond it is answered canceled. */
  readonly maxWatchersPerStream: number;
  /** Events queued for one watcher before it is moved to the unsynced set (caught up from history). */
  readonly maxPendingWatchEvents: number;
  /** LeaseGrant requests this member accepts per second; more get "too many requests". */
  readonly maxLeaseGrantsPerSecond: number;
  readonly listenMetricsUrls: readonly URL[];
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** --experimental-enable-distributed-tracing: export OpenTelemetry spans (OTLP/HTTP). */
  readonly distributedTracing: boolean;
  /** --experimental-distributed-tracing-address: OTLP/HTTP endpoint; null = OTEL_* env or the default. */
  readonly distributedTracingAddress: string | null;
  /**
   * A deliberately wrong behaviour, for proving the fault lab can catch it (FLOTILLA_UNSAFE,
   * test-only, never a flag): see UNSAFE_MODES. null in every real deployment.
   */
  readonly unsafe: UnsafeMode | null;
  /** --auth-token: etcd's simple tokens, or JWTs signed with the given keys. */
  readonly authToken: { readonly type: 'simple' } | ({ readonly type: 'jwt' } & JwtOptions);
  /** --auth-token-ttl: seconds a simple token lives past its last use. */
  readonly authTokenTtlSeconds: number;
  /** --bcrypt-cost: work factor of password hashes (etcd's default 10). */
  readonly bcryptCost: number;
  /** --auth-attempts-per-second: password checks allowed per client address (Flotilla's own). */
  readonly authAttemptsPerSecond: number;
}

export const UNSAFE_MODES = {
  'stale-reads': 'serve linearizable reads from the local state without ReadIndex',
  'early-ack': 'acknowledge writes as soon as they are proposed, before they commit',
} as const;

export type UnsafeMode = keyof typeof UNSAFE_MODES;

/** Flag name → how to read it. Every flag here is documented in docs/configuration.md. */
const FLAGS = {
  name: { type: 'string', default: 'default' },
  'data-dir': { type: 'string' },
  'listen-client-urls': { type: 'string', default: 'http://localhost:2379' },
  'advertise-client-urls': { type: 'string' },
  'listen-peer-urls': { type: 'string', default: 'http://localhost:2380' },
  'initial-advertise-peer-urls': { type: 'string' },
  'initial-cluster': { type: 'string' },
  'initial-cluster-state': { type: 'string', default: 'new' },
  'initial-cluster-token': { type: 'string', default: 'etcd-cluster' },
  'heartbeat-interval': { type: 'string', default: '100' },
  'election-timeout': { type: 'string', default: '1000' },
  // etcd 3.4's default. Each local snapshot syncs the whole LMDB map: at 10,000 the sync's burst of
  // page writes stalled WAL fsyncs every ~1.4 s under load (puts at 64 in flight: −12% throughput).
  'snapshot-count': { type: 'string', default: '100000' },
  'experimental-snapshot-catchup-entries': { type: 'string', default: '5000' },
  'snapshot-log-bytes': { type: 'string', default: String(64 * 1024 * 1024) },
  'max-request-bytes': { type: 'string', default: String(1.5 * 1024 * 1024) },
  'max-txn-ops': { type: 'string', default: '128' },
  'quota-backend-bytes': { type: 'string', default: String(2 * 1024 * 1024 * 1024) },
  'max-client-connections': { type: 'string', default: '10000' },
  // etcd's default: math.MaxUint32, i.e. what a client may open is bounded by HTTP/2 memory only.
  'max-concurrent-streams': { type: 'string', default: '4294967295' },
  'max-watchers-per-stream': { type: 'string', default: '10000' },
  'max-pending-watch-events': { type: 'string', default: '1024' },
  'max-lease-grants-per-second': { type: 'string', default: '20000' },
  'listen-metrics-urls': { type: 'string', default: '' },
  'log-level': { type: 'string', default: 'info' },
  'experimental-enable-distributed-tracing': { type: 'string', default: 'false' },
  'experimental-distributed-tracing-address': { type: 'string' },
  'config-file': { type: 'string' },
  'cert-file': { type: 'string' },
  'key-file': { type: 'string' },
  'trusted-ca-file': { type: 'string' },
  'client-cert-auth': { type: 'string', default: 'false' },
  'peer-cert-file': { type: 'string' },
  'peer-key-file': { type: 'string' },
  'peer-trusted-ca-file': { type: 'string' },
  'peer-client-cert-auth': { type: 'string', default: 'false' },
  'auth-token': { type: 'string', default: 'simple' },
  'auth-token-ttl': { type: 'string', default: '300' },
  'bcrypt-cost': { type: 'string', default: '10' },
  'auth-attempts-per-second': { type: 'string', default: '20' },
} as const;

/** etcd's boolean flags may be given bare (`--client-cert-auth`), meaning true. */
const BARE_BOOLEAN_FLAGS: ReadonlySet<string> = new Set(['--client-cert-auth', '--peer-client-cert-auth']);

function expandBareBooleans(argv: readonly string[]): string[] {
  return argv.map((arg) => (BARE_BOOLEAN_FLAGS.has(arg) ? `${arg}=true` : arg));
}

type FlagName = keyof typeof FLAGS;

function envName(flag: string): string {
  return `FLOTILLA_${flag.toUpperCase().replaceAll('-', '_')}`;
}

function parseUrls(flag: string, text: string): URL[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    let url: URL;
    try {
      url = new URL(part.trim());
    } catch {
      throw new ConfigError(`--${flag}: '${part}' is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigError(`--${flag}: '${part}' must be an http:// or https:// URL`);
    if (url.port === '') throw new ConfigError(`--${flag}: '${part}' needs an explicit port`);
    return url;
  });
}

function parsePositiveInteger(flag: string, text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw new ConfigError(`--${flag}: '${text}' must be a positive integer`);
  }
  return Number(text);
}

/** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS is a 32-bit field (RFC 9113 §6.5.2). */
function parseMaxConcurrentStreams(text: string): number {
  const value = parsePositiveInteger('max-concurrent-streams', text);
  if (value > 0xffff_ffff)
    throw new ConfigError(`--max-concurrent-streams: '${text}' must be at most 4294967295`);
  return value;
}

function parseBoolean(flag: string, text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ConfigError(`--${flag}: '${text}' must be true or false`);
}

function parseInitialCluster(text: string): ClusterMemberUrl[] {
  return text.split(',').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--initial-cluster: '${part}' must look like name=http://host:port`);
    const name = part.slice(0, eq).trim();
    const peerUrl = part.slice(eq + 1).trim();
    parseUrls('initial-cluster', peerUrl);
    return { name, peerUrl };
  });
}

function readConfigFile(path: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`--config-file: cannot read ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--config-file: ${path} must hold a JSON object of flag names to values`);
  }
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in FLAGS)) throw new ConfigError(`--config-file: ${path}: unknown setting '${key}'`);
    result[key] = String(value);
  }
  return result;
}

export function parseServerConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  let values: Partial<Record<FlagName, string>>;
  try {
    const options = Object.fromEntries(Object.keys(FLAGS).map((name) => [name, { type: 'string' as const }]));
    values = parseArgs({ args: expandBareBooleans(argv), options, strict: true, allowPositionals: false })
      .values as Partial<Record<FlagName, string>>;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const configFile = values['config-file'] ?? env[envName('config-file')];
  const fromFile = configFile === undefined ? {} : readConfigFile(configFile);
  const get = (flag: FlagName): string | undefined => {
    const fromFlag = values[flag];
    if (fromFlag !== undefined) return fromFlag;
    const fromEnv = env[envName(flag)];
    if (fromEnv !== undefined) return fromEnv;
    if (fromFile[flag] !== undefined) return fromFile[flag];
    const spec = FLAGS[flag];
    return 'default' in spec ? spec.default : undefined;
  };

  const name = get('name')!;
  const listenPeerUrls = parseUrls('listen-peer-urls', get('listen-peer-urls')!);
  const listenClientUrls = parseUrls('listen-client-urls', get('listen-client-urls')!);
  const initialAdvertisePeerUrls =
    get('initial-advertise-peer-urls') ?? listenPeerUrls.map((u) => u.origin).join(',');
  const advertiseClientUrls = get('advertise-client-urls') ?? listenClientUrls.map((u) => u.origin).join(',');
  parseUrls('initial-advertise-peer-urls', initialAdvertisePeerUrls);
  parseUrls('advertise-client-urls', advertiseClientUrls);
  const initialCluster = parseInitialCluster(
    get('initial-cluster') ?? `${name}=${initialAdvertisePeerUrls.split(',')[0]}`,
  );
  if (!initialCluster.some((member) => member.name === name)) {
    throw new ConfigError(`--initial-cluster does not name this member ('${name}')`);
  }
  const state = get('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') {
    throw new ConfigError(`--initial-cluster-state: '${state}' must be 'new' or 'existing'`);
  }
  const heartbeatIntervalMs = parsePositiveInteger('heartbeat-interval', get('heartbeat-interval')!);
  const electionTimeoutMs = parsePositiveInteger('election-timeout', get('election-timeout')!);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError(
      `--election-timeout (${electionTimeoutMs} ms) must be at least 5 times --heartbeat-interval (${heartbeatIntervalMs} ms)`,
    );
  }
  const logLevel = get('log-level');
  if (logLevel !== 'debug' && logLevel !== 'info' && logLevel !== 'warn' && logLevel !== 'error') {
    throw new ConfigError(`--log-level: '${logLevel}' must be debug, info, warn or error`);
  }
  const clientTls = readTlsFiles(get, '', 'client-cert-auth');
  const peerTls = readTlsFiles(get, 'peer-', 'peer-client-cert-auth');
  requireTlsForHttps(listenClientUrls, clientTls, 'client');
  requireTlsForHttps(listenPeerUrls, peerTls, 'peer');
  const tracingAddress = get('experimental-distributed-tracing-address');
  if (tracingAddress !== undefined) parseUrls('experimental-distributed-tracing-address', tracingAddress);
  return {
    name,
    dataDir: get('data-dir') ?? `${name}.flotilla`,
    listenClientUrls,
    advertiseClientUrls: advertiseClientUrls.split(',').map((u) => u.trim()),
    listenPeerUrls,
    initialAdvertisePeerUrls: initialAdvertisePeerUrls.split(',').map((u) => u.trim()),
    initialCluster,
    initialClusterState: state,
    initialClusterToken: get('initial-cluster-token')!,
    clientTls,
    peerTls,
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: parsePositiveInteger('snapshot-count', get('snapshot-count')!),
    snapshotCatchUpEntries: parsePositiveInteger(
      'experimental-snapshot-catchup-entries',
      get('experimental-snapshot-catchup-entries')!,
    ),
    snapshotLogBytes: parsePositiveInteger('snapshot-log-bytes', get('snapshot-log-bytes')!),
    maxRequestBytes: parsePositiveInteger('max-request-bytes', get('max-request-bytes')!),
    maxTxnOps: parsePositiveInteger('max-txn-ops', get('max-txn-ops')!),
    quotaBackendBytes: parsePositiveInteger('quota-backend-bytes', get('quota-backend-bytes')!),
    maxClientConnections: parsePositiveInteger('max-client-connections', get('max-client-connections')!),
    maxConcurrentStreams: parseMaxConcurrentStreams(get('max-concurrent-streams')!),
    maxWatchersPerStream: parsePositiveInteger('max-watchers-per-stream', get('max-watchers-per-stream')!),
    maxPendingWatchEvents: parsePositiveInteger('max-pending-watch-events', get('max-pending-watch-events')!),
    maxLeaseGrantsPerSecond: parsePositiveInteger(
      'max-lease-grants-per-second',
      get('max-lease-grants-per-second')!,
    ),
    listenMetricsUrls: parseUrls('listen-metrics-urls', get('listen-metrics-urls')!),
    logLevel,
    distributedTracing: parseBoolean(
      'experimental-enable-distributed-tracing',
      get('experimental-enable-distributed-tracing')!,
    ),
    distributedTracingAddress: tracingAddress ?? null,
    unsafe: parseUnsafe(env.FLOTILLA_UNSAFE),
    ...parseAuthFlags(get),
  };
}

/** BCRYPT_COST_MIN/MAX: bcrypt's own bounds (golang.org/x/crypto/bcrypt MinCost, MaxCost). */
const BCRYPT_COST_MIN = 4;
const BCRYPT_COST_MAX = 31;

function parseAuthFlags(get: (flag: FlagName) => string | undefined) {
  const bcryptCost = parsePositiveInteger('bcrypt-cost', get('bcrypt-cost')!);
  if (bcryptCost < BCRYPT_COST_MIN || bcryptCost > BCRYPT_COST_MAX) {
    throw new ConfigError(
      `--bcrypt-cost: ${bcryptCost} must be between ${BCRYPT_COST_MIN} and ${BCRYPT_COST_MAX}`,
    );
  }
  return {
    authToken: parseAuthToken(get('auth-token')!),
    authTokenTtlSeconds: parsePositiveInteger('auth-token-ttl', get('auth-token-ttl')!),
    bcryptCost,
    authAttemptsPerSecond: parsePositiveInteger('auth-attempts-per-second', get('auth-attempts-per-second')!),
  };
}

function readTlsFiles(
  get: (flag: FlagName) => string | undefined,
  prefix: '' | 'peer-',
  authFlag: 'client-cert-auth' | 'peer-client-cert-auth',
): TlsFiles {
  const files: TlsFiles = {
    certFile: get(`${prefix}cert-file`) ?? null,
    keyFile: get(`${prefix}key-file`) ?? null,
    trustedCaFile: get(`${prefix}trusted-ca-file`) ?? null,
    clientCertAuth: parseBoolean(authFlag, get(authFlag)!),
  };
  if ((files.certFile === null) !== (files.keyFile === null)) {
    throw new ConfigError(`--${prefix}cert-file and --${prefix}key-file must be given together`);
  }
  // Without a CA there is nothing to check client certificates against: every client would be refused.
  if (files.clientCertAuth && files.trustedCaFile === null) {
    throw new ConfigError(`--${authFlag} needs --${prefix}trusted-ca-file to check certificates against`);
  }
  return files;
}

/** etcd's rule: an https:// listen URL without a key pair is a configuration error. */
function requireTlsForHttps(urls: readonly URL[], files: TlsFiles, side: 'client' | 'peer'): void {
  const https = urls.find((url) => url.protocol === 'https:');
  if (https === undefined || files.certFile !== null) return;
  const flags = side === 'client' ? '--cert-file, --key-file' : '--peer-cert-file, --peer-key-file';
  throw new ConfigError(
    `TLS key/cert (${flags}) must be provided for ${side} url ${https.origin} with HTTPS scheme`,
  );
}

function parseUnsafe(value: string | undefined): UnsafeMode | null {
  if (value === undefined || value === '') return null;
  if (!Object.hasOwn(UNSAFE_MODES, value)) {
    throw new ConfigError(
      `FLOTILLA_UNSAFE: '${value}' is not one of ${Object.keys(UNSAFE_MODES).join(', ')}`,
    );
  }
  return value as UnsafeMode;
}

/** etcd's JWT lifetime when the ttl option is left out. */
const JWT_TTL_DEFAULT_MS = 5 * 60_000;

/** `simple`, or etcd's `jwt,pub-key=<file>,priv-key=<file>,sign-method=<alg>[,ttl=<duration>]`. */
function parseAuthToken(text: string): ServerConfig['authToken'] {
  if (text === 'simple') return { type: 'simple' };
  const [kind, ...parts] = text.split(',');
  if (kind !== 'jwt') throw new ConfigError(`--auth-token: '${kind}' must be 'simple' or 'jwt,...'`);
  const options = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq);
    if (eq <= 0 || options.has(name)) throw new ConfigError(`--auth-token: bad or repeated option '${part}'`);
    options.set(name, part.slice(eq + 1));
  }
  const file = (name: string): string => {
    const path = options.get(name);
    if (path === undefined) throw new ConfigError(`--auth-token: jwt needs ${name}=<file>`);
    if (!existsSync(path)) throw new ConfigError(`--auth-token: ${name} file ${path} does not exist`);
    return path;
  };
  const signMethod = options.get('sign-method');
  if (!JWT_SIGN_METHODS.includes(signMethod as JwtSignMethod)) {
    throw new ConfigError(`--auth-token: sign-method must be one of ${JWT_SIGN_METHODS.join(', ')}`);
  }
  const ttl = options.get('ttl');
  return {
    type: 'jwt',
    publicKeyFile: file('pub-key'),
    privateKeyFile: file('priv-key'),
    signMethod: signMethod as JwtSignMethod,
    ttlMs: ttl === undefined ? JWT_TTL_DEFAULT_MS : parseGoDuration(ttl),
  };
}

/** Go's time.ParseDuration for the units a token lifetime uses: "90s", "5m", "1h30m", "500ms". */
function parseGoDuration(text: string): number {
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)];
  const total = parts.reduce((sum, [, value, unit]) => sum + Number(value) * unitMs[unit], 0);
  if (parts.map((p) => p[0]).join('') !== text || !(total > 0)) {
    throw new ConfigError(`--auth-token: ttl '${text}' must be a positive duration such as 5m or 90s`);
  }
  return total;
}

export const SERVER_FLAGS: readonly string[] = Object.keys(FLAGS);
