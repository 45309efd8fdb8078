// `flotilla serve`: run one member. Flags follow etcd's names (see docs/configuration.md).
// Logs are JSON lines on stderr (pino, --log-level); metrics, health and the dashboard are served on
// --listen-metrics-urls when given (docs/observability.md).

import { MetricsServer } from '../observability/http-server.js';
import { NodeObservability } from '../observability/node-observability.js';
import { startClientServer } from '../server/api/grpc.js';
import { ConfigError, parseServerConfig } from '../server/config.js';
import { hexId } from '../server/ids.js';
import { FlotillaNode } from '../server/node.js';
import { healthSource, memberStatus } from '../server/observed.js';
import { loadTlsMaterial, type TlsMaterial } from '../server/tls.js';

export async function serve(argv: readonly string[]): Promise<number> {
  let config: ReturnType<typeof parseServerConfig>;
  let clientTls: TlsMaterial | null;
  try {
    config = parseServerConfig(argv);
    clientTls = loadTlsMaterial(config.clientTls, '');
  } catch (error) {
    if (error instanceof ConfigError) {
      // A usage error, before any logger exists: a plain line, like etcd's flag errors.
      process.stderr.write(`flotilla serve: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const observability = new NodeObservability(config);
  const logger = observability.logger;
  let node: FlotillaNode;
  try {
    node = await FlotillaNode.start(config, observability);
  } catch (error) {
    logger.error(`flotilla serve: cannot start member '${config.name}': ${(error as Error).message}`);
    await observability.close();
    return 1;
  }
  let clients: Awaited<ReturnType<typeof startClientServer>>;
  try {
    clients = await startClientServer(node, clientTls);
  } catch (error) {
    // e.g. EADDRINUSE: one line naming the flag, not a stack trace.
    logger.error(`flotilla serve: cannot listen on --listen-client-urls: ${(error as Error).message}`);
    await node.stop();
    await observability.close();
    return 1;
  }
  let metrics: Awaited<ReturnType<typeof MetricsServer.start>>;
  try {
    metrics = await MetricsServer.start({
      urls: config.listenMetricsUrls,
      metrics: observability.metrics,
      health: healthSource(node),
      status: () => memberStatus(node),
      logger,
    });
  } catch (error) {
    logger.error(`flotilla serve: cannot listen on --listen-metrics-urls: ${(error as Error).message}`);
    await clients.stop();
    await node.stop();
    return 1;
  }
  logger.info('serving client requests', {
    member: hexId(node.memberId),
    cluster: hexId(node.clusterId),
    clientUrls: config.advertiseClientUrls,
    ports: clients.ports,
  });
  if (config.listenMetricsUrls.length > 0) {
    logger.info('serving metrics, health and the dashboard', {
      metricsUrls: config.listenMetricsUrls.map((url) => url.origin),
      ports: metrics.ports,
    });
  }
  if (observability.tracing.enabled) logger.info('distributed tracing on (OTLP/HTTP export)');
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  await metrics.server.close();
  await clients.stop();
  await node.stop();
  return 0;
}
