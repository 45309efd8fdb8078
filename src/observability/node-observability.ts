// Everything one member needs to be observed, built once at start and handed to the node: its
// metrics registry, tracer, logger, request instrumentation, recent events and lag clock.

import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ServerConfig } from '../server/config.js';
import { RecentEvents } from './events.js';
import { createLogger, type MemberLogger } from './logging.js';
import { NodeMetrics } from './metrics.js';
import { ReplicationLagClock } from './replication-lag.js';
import { RequestObserver } from './requests.js';
import { Tracing, tracingConfig } from './tracing.js';

export interface ObservabilityOptions {
  /** Replaces OTLP export and turns tracing on (tests: InMemorySpanExporter). */
  readonly spanExporter?: SpanExporter;
  /** Replaces the stderr JSON logger (tests). */
  readonly logger?: MemberLogger;
  /** Node.js process metrics (event loop lag, heap, CPU); on unless several members share a process. */
  readonly processMetrics?: boolean;
}

export class NodeObservability {
  readonly metrics: NodeMetrics;
  readonly tracing: Tracing;
  readonly logger: MemberLogger;
  readonly requests: RequestObserver;
  readonly events: RecentEvents;
  readonly lagClock = new ReplicationLagClock();

  constructor(config: ServerConfig, options: ObservabilityOptions = {}) {
    this.logger = options.logger ?? createLogger({ level: config.logLevel, member: config.name, group: 0 });
    this.metrics = new NodeMetrics({ processMetrics: options.processMetrics });
    const traced = tracingConfig({
      enabled: config.distributedTracing || options.spanExporter !== undefined,
      endpoint: config.distributedTracingAddress,
    });
    this.tracing = new Tracing(traced, config.name, options.spanExporter);
    this.requests = new RequestObserver(this.metrics, this.tracing, this.logger, config.name);
    this.events = new RecentEvents(() => config.name);
  }

  async close(): Promise<void> {
    await this.tracing.shutdown();
  }
}
