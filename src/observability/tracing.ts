// OpenTelemetry tracing of client requests across members, exported over OTLP/HTTP.
//
// Off by default, and then free: `enabled` is one boolean that every hook checks first, no tracer
// provider exists, no span objects are made and no trace context is read or written. On with
// --experimental-enable-distributed-tracing=true (etcd's flag) or the standard OTEL_TRACES_EXPORTER=otlp;
// OTEL_SDK_DISABLED=true wins over both. W3C trace context travels in gRPC metadata
// (`traceparent`) into a member and inside the replicated proposal (replicated.ts) to the others.
//
// Each member has its own tracer provider (several members may share a process in tests); the
// async context manager is process-wide by nature and is installed once.

import {
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/** Where spans go when no endpoint is configured: the OTLP/HTTP default port on this host. */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';
const TRACER_NAME = 'flotilla';
const SERVICE_NAME = 'flotilla';

export interface TracingConfig {
  /** --experimental-enable-distributed-tracing */
  readonly enabled: boolean;
  /** --experimental-distributed-tracing-address: OTLP/HTTP base URL (…/v1/traces is appended). */
  readonly endpoint: string | null;
}

/** Flag or standard OTEL_* environment: is tracing on, and where do spans go? */
export function tracingConfig(
  flag: { enabled: boolean; endpoint: string | null },
  env: NodeJS.ProcessEnv = process.env,
): TracingConfig {
  if (env.OTEL_SDK_DISABLED === 'true') return { enabled: false, endpoint: null };
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim());
  return { enabled: flag.enabled || exporters.includes('otlp'), endpoint: flag.endpoint };
}

let contextManagerInstalled = false;

function installContextManager(): void {
  if (contextManagerInstalled) return;
  // Without it, the active span would not survive an `await` between receive and propose.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerInstalled = true;
}

const propagator = new W3CTraceContextPropagator();
const carrierGetter = {
  get: (carrier: Record<string, string>, key: string) => carrier[key],
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
};
const carrierSetter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value;
  },
};

export class Tracing {
  readonly enabled: boolean;
  private readonly provider: BasicTracerProvider | null;
  private readonly tracer: Tracer | null;

  /** `exporter` overrides OTLP (tests pass an InMemorySpanExporter; spans are then exported at once). */
  constructor(config: TracingConfig, memberName: string, exporter?: SpanExporter) {
    this.enabled = config.enabled;
    if (!config.enabled) {
      this.provider = null;
      this.tracer = null;
      return;
    }
    installContextManager();
    const processor =
      exporter !== undefined
        ? new SimpleSpanProcessor(exporter)
        : new BatchSpanProcessor(
            new OTLPTraceExporter(
              config.endpoint === null ? {} : { url: `${config.endpoint.replace(/\/$/, '')}/v1/traces` },
            ),
          );
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.instance.id': memberName }),
      spanProcessors: [processor],
    });
    this.tracer = this.provider.getTracer(TRACER_NAME);
  }

  static off(): Tracing {
    return new Tracing({ enabled: false, endpoint: null }, '');
  }

  /** The server span of a client request, child of the caller's `traceparent` if it sent one. */
  startServerSpan(name: string, traceparent: string | undefined): { span: Span; context: Context } {
    const parent = traceparent === undefined ? ROOT_CONTEXT : extract(traceparent);
    const span = this.requireTracer().startSpan(name, { kind: SpanKind.SERVER }, parent);
    return { span, context: trace.setSpan(parent, span) };
  }

  /** A span under the active context (the request being served, if any). */
  startActiveChild(name: string): Span {
    return this.requireTracer().startSpan(name, { kind: SpanKind.INTERNAL }, context.active());
  }

  /** A span under a context carried as a `traceparent` string (from a replicated entry). */
  startRemoteChild(name: string, traceparent: string): Span {
    return this.requireTracer().startSpan(name, { kind: SpanKind.INTERNAL }, extract(traceparent));
  }

  /** A child of `parent` (an in-process span). */
  startChildOf(name: string, parent: Span): Span {
    return this.requireTracer().startSpan(
      name,
      { kind: SpanKind.INTERNAL },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
  }

  /** Runs `fn` with `ctx` active, so spans started inside become its children. */
  with<T>(ctx: Context, fn: () => T): T {
    return context.with(ctx, fn);
  }

  /** The W3C `traceparent` naming `span`. */
  traceparentOf(span: Span): string {
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, carrierSetter);
    return carrier.traceparent;
  }

  /** Flushes and stops exporting. */
  async shutdown(): Promise<void> {
    if (this.provider !== null) await this.provider.shutdown();
  }

  private requireTracer(): Tracer {
    if (this.tracer === null) throw new Error('tracing is disabled: check `enabled` before tracing');
    return this.tracer;
  }
}

function extract(traceparent: string): Context {
  return propagator.extract(ROOT_CONTEXT, { traceparent }, carrierGetter);
}
