// Structured JSON logs with pino: one JSON object per line on stderr, carrying the member's name,
// its Raft group and, once the node runs, its current term. Nothing is logged per request at the
// default level (info); request lines exist at debug only (see requests.ts).

import { pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What the server layer logs through; small enough for tests to replace with a recorder. */
export interface NodeLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** True when `level` lines are written: lets callers skip building fields for nothing. */
  isLevelEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  /** The member's --name; omitted for CLI-level loggers. */
  readonly member?: string;
  /** The Raft group (0 until the keyspace is sharded). */
  readonly group?: number;
  /** Where lines go; stderr (fd 2) unless a test captures them. */
  readonly destination?: NodeJS.WritableStream;
}

/** A logger whose lines also carry the current term once `setTermSource` is called. */
export interface MemberLogger extends NodeLogger {
  setTermSource(term: () => number): void;
}

const STDERR_FD = 2;

export function createLogger(options: LoggerOptions): MemberLogger {
  let termSource: (() => number) | null = null;
  const base: Record<string, unknown> = { pid: process.pid };
  if (options.member !== undefined) base.name = options.member;
  if (options.group !== undefined) base.group = options.group;
  const logger = pino(
    {
      level: options.level,
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Evaluated only for lines actually written, so a disabled level costs nothing.
      mixin: () => (termSource === null ? {} : { term: termSource() }),
    },
    // Synchronous writes: the last lines before a crash must not be lost in a buffer.
    options.destination ?? pino.destination({ fd: STDERR_FD, sync: true }),
  );
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    isLevelEnabled: (level) => logger.isLevelEnabled(level),
    setTermSource: (term) => {
      termSource = term;
    },
  };
}
