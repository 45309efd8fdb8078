// Instrumentation of unary client requests, kept out of the gRPC layer so any server
// implementation can call it with three lines:
//
//   const observed = requests.method(name);            // once per RPC, at registration
//   const token = observed.start(call.metadata);       // per request
//   observed.run(token, () => handler(...)).then(… observed.finish(token, code) …)
//
// Per request, with tracing off: one performance.now() at start, and at finish one counter
// increment and one histogram observation on labelled children cached per (method, code).
// No label strings are built and no metadata is read. With tracing on, `start` opens the server
// span (child of the caller's `traceparent`) and `run` makes it the active context.

import type { Context, Span } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';
import type { NodeLogger } from './logging.js';
import type { NodeMetrics } from './metrics.js';
import type { Tracing } from './tracing.js';

/** The etcd service of each unary method name (method names are unique across these services). */
export const RPC_SERVICES: Readonly<Record<string, string>> = {
  Range: 'etcdserverpb.KV',
  Put: 'etcdserverpb.KV',
  DeleteRange: 'etcdserverpb.KV',
  Txn: 'etcdserverpb.KV',
  Compact: 'etcdserverpb.KV',
  LeaseGrant: 'etcdserverpb.Lease',
  LeaseRevoke: 'etcdserverpb.Lease',
  LeaseTimeToLive: 'etcdserverpb.Lease',
  LeaseLeases: 'etcdserverpb.Lease',
  MemberAdd: 'etcdserverpb.Cluster',
  MemberRemove: 'etcdserverpb.Cluster',
  MemberUpdate: 'etcdserverpb.Cluster',
  MemberList: 'etcdserverpb.Cluster',
  MemberPromote: 'etcdserverpb.Cluster',
  Alarm: 'etcdserverpb.Maintenance',
  Status: 'etcdserverpb.Maintenance',
  Defragment: 'etcdserverpb.Maintenance',
  Hash: 'etcdserverpb.Maintenance',
  HashKV: 'etcdserverpb.Maintenance',
  MoveLeader: 'etcdserverpb.Maintenance',
  Lock: 'v3lockpb.Lock',
  Unlock: 'v3lockpb.Lock',
  Campaign: 'v3electionpb.Election',
  Proclaim: 'v3electionpb.Election',
  Leader: 'v3electionpb.Election',
  Resign: 'v3electionpb.Election',
};

/** gRPC status codes run 0 (OK) … 16 (UNAUTHENTICATED). */
const GRPC_CODES = 17;
const TRACEPARENT_KEY = 'traceparent';

/** The part of gRPC metadata read here (grpc-js Metadata fits). */
export interface MetadataLike {
  get(key: string): unknown[];
}

/** A traced request; an untraced one is just its start time in ms (a number: nothing allocated). */
export class TracedRequest {
  constructor(
    readonly startedAtMs: number,
    readonly span: Span,
    readonly context: Context,
  ) {}
}

export type RequestToken = number | TracedRequest;

interface CodeInstruments {
  readonly count: { inc(): void };
  readonly seconds: { observe(value: number): void };
}

export class MethodInstruments {
  private readonly byCode: (CodeInstruments | undefined)[] = new Array(GRPC_CODES);

  constructor(
    private readonly observer: RequestObserver,
    readonly service: string,
    readonly method: string,
  ) {}

  start(metadata: MetadataLike): RequestToken {
    const startedAtMs = performance.now();
    const tracing = this.observer.tracing;
    if (!tracing.enabled) return startedAtMs;
    const sent = metadata.get(TRACEPARENT_KEY)[0];
    const { span, context } = tracing.startServerSpan(
      `${this.service}/${this.method}`,
      typeof sent === 'string' ? sent : undefined,
    );
    span.setAttributes({
      'rpc.system': 'grpc',
      'rpc.service': this.service,
      'rpc.method': this.method,
      'flotilla.member': this.observer.memberName,
    });
    return new TracedRequest(startedAtMs, span, context);
  }

  /** Runs the handler with the request's span active (so proposals it makes join the trace). */
  run<T>(token: RequestToken, handler: () => T): T {
    return typeof token === 'number' ? handler() : this.observer.tracing.with(token.context, handler);
  }

  finish(token: RequestToken, code: number): void {
    const startedAtMs = typeof token === 'number' ? token : token.startedAtMs;
    const seconds = (performance.now() - startedAtMs) / 1000;
    const instruments = this.instrumentsFor(code);
    if (instruments !== null) {
      instruments.count.inc();
      instruments.seconds.observe(seconds);
    }
    if (typeof token !== 'number') {
      token.span.setAttribute('rpc.grpc.status_code', code);
      if (code !== 0) token.span.setStatus({ code: SpanStatusCode.ERROR });
      token.span.addEvent('respond');
      token.span.end();
    }
    const logger = this.observer.logger;
    if (logger.isLevelEnabled('debug')) {
      logger.debug('request', {
        requestId: this.observer.nextRequestId(),
        rpc: `${this.service}/${this.method}`,
        code,
        durationMs: seconds * 1000,
        traceId: typeof token === 'number' ? undefined : token.span.spanContext().traceId,
      });
    }
  }

  private instrumentsFor(code: number): CodeInstruments | null {
    const metrics = this.observer.metrics;
    if (metrics === null || code < 0 || code >= GRPC_CODES) return null;
    let instruments = this.byCode[code];
    if (instruments === undefined) {
      const labels = { service: this.service, method: this.method, code: String(code) };
      instruments = {
        count: metrics.requests.labels(labels),
        seconds: metrics.requestSeconds.labels(labels),
      };
      this.byCode[code] = instruments;
    }
    return instruments;
  }
}

export class RequestObserver {
  private readonly methods = new Map<string, MethodInstruments>();
  private requestCount = 0;

  constructor(
    readonly metrics: NodeMetrics | null,
    readonly tracing: Tracing,
    readonly logger: NodeLogger,
    readonly memberName: string,
  ) {}

  /** The instruments of one RPC, created on first use and kept. */
  method(name: string): MethodInstruments {
    let instruments = this.methods.get(name);
    if (instruments === undefined) {
      instruments = new MethodInstruments(this, RPC_SERVICES[name] ?? 'unknown', name);
      this.methods.set(name, instruments);
    }
    return instruments;
  }

  nextRequestId(): number {
    return ++this.requestCount;
  }
}
