// The metrics listener (--listen-metrics-urls): Prometheus /metrics, /health, /readyz, /livez,
// this member's JSON view (/api/status), the merged cluster view (/api/cluster, and live as
// server-sent events at /api/stream), and the dashboard's static files (web/ and uPlot from
// node_modules: the browser may have no internet, so nothing comes from a CDN).

import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClusterSnapshot, ClusterView, type MemberStatus } from './dashboard-state.js';
import { type HealthAnswer, type HealthSource, health, livez, readyz } from './health.js';
import type { NodeLogger } from './logging.js';
import { type NodeMetrics, REQUEST_BUCKETS_SECONDS } from './metrics.js';

/** How often the dashboard's live stream sends a new cluster snapshot. */
export const DASHBOARD_REFRESH_MS = 1_000;
/** Bound on dashboards watching one member at once. */
const STREAM_CLIENTS_MAX = 64;

const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));
const require = createRequire(import.meta.url);

/** URL path → file served as is. */
const STATIC_FILES: Readonly<Record<string, () => string>> = {
  '/': () => join(WEB_DIR, 'index.html'),
  '/index.html': () => join(WEB_DIR, 'index.html'),
  '/app.js': () => join(WEB_DIR, 'app.js'),
  '/charts.js': () => join(WEB_DIR, 'charts.js'),
  '/style.css': () => join(WEB_DIR, 'style.css'),
  '/vendor/uPlot.iife.min.js': () => require.resolve('uplot/dist/uPlot.iife.min.js'),
  '/vendor/uPlot.min.css': () => require.resolve('uplot/dist/uPlot.min.css'),
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface MetricsServerOptions {
  readonly urls: readonly URL[];
  readonly metrics: NodeMetrics;
  readonly health: HealthSource;
  readonly status: () => Promise<MemberStatus>;
  readonly logger: NodeLogger;
}

export class MetricsServer {
  private readonly servers: Server[] = [];
  private readonly streams = new Set<ServerResponse>();
  private readonly cluster: ClusterView;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  private constructor(private readonly options: MetricsServerOptions) {
    this.cluster = new ClusterView(options.status, REQUEST_BUCKETS_SECONDS);
  }

  /** Listens on every URL; resolves with the bound ports (port 0 picks one). */
  static async start(options: MetricsServerOptions): Promise<{ server: MetricsServer; ports: number[] }> {
    const server = new MetricsServer(options);
    const ports: number[] = [];
    for (const url of options.urls) ports.push(await server.listen(url));
    return { server, ports };
  }

  private listen(url: URL): Promise<number> {
    const http = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => {
        this.options.logger.warn('metrics listener request failed', {
          error: String(error),
          url: request.url,
        });
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
    this.servers.push(http);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return new Promise((resolve, reject) => {
      http.once('error', reject);
      http.listen(Number(url.port), host, () => {
        const address = http.address();
        resolve(typeof address === 'object' && address !== null ? address.port : Number(url.port));
      });
    });
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'text/plain', '');
    switch (path) {
      case '/metrics':
        return send(response, 200, this.options.metrics.contentType, await this.options.metrics.text());
      case '/health':
        return sendHealth(response, health(this.options.health));
      case '/readyz':
        return sendHealth(response, readyz(this.options.health));
      case '/livez':
        return sendHealth(response, livez());
      case '/api/status':
        return sendJson(response, await this.options.status());
      case '/api/cluster':
        return sendJson(response, await this.cluster.poll());
      case '/api/stream':
        return this.openStream(request, response);
    }
    const file = STATIC_FILES[path];
    if (file === undefined) return send(response, 404, 'text/plain', 'not found\n');
    const resolved = file();
    send(
      response,
      200,
      CONTENT_TYPES[extname(resolved)] ?? 'application/octet-stream',
      await readFile(resolved),
    );
  }

  /** Server-sent events: a cluster snapshot now and every DASHBOARD_REFRESH_MS while connected. */
  private openStream(request: IncomingMessage, response: ServerResponse): void {
    if (this.streams.size >= STREAM_CLIENTS_MAX)
      return send(response, 503, 'text/plain', 'too many dashboards\n');
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    this.streams.add(response);
    request.on('close', () => {
      this.streams.delete(response);
      if (this.streams.size === 0) this.stopPolling();
    });
    if (this.timer === null) {
      this.timer = setInterval(() => this.broadcast(), DASHBOARD_REFRESH_MS);
      this.timer.unref();
    }
    this.broadcast();
  }

  private broadcast(): void {
    // One poll at a time: a slow member must not pile up fetches.
    if (this.polling) return;
    this.polling = true;
    this.cluster
      .poll()
      .then((snapshot: ClusterSnapshot) => {
        const frame = `data: ${JSON.stringify(snapshot)}\n\n`;
        for (const stream of this.streams) stream.write(frame);
      })
      .catch((error: unknown) => this.options.logger.warn('dashboard poll failed', { error: String(error) }))
      .finally(() => {
        this.polling = false;
      });
  }

  private stopPolling(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  async close(): Promise<void> {
    this.stopPolling();
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}

function sendJson(response: ServerResponse, value: unknown): void {
  send(response, 200, 'application/json', JSON.stringify(value));
}

function sendHealth(response: ServerResponse, answer: HealthAnswer): void {
  send(response, answer.status, answer.contentType, answer.body);
}
