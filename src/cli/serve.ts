// `flotilla serve`: run one member. Flags follow etcd's names (see docs/configuration.md).

import { startClientServer } from '../server/api/grpc.js';
import { ConfigError, parseServerConfig } from '../server/config.js';
import { hexId } from '../server/ids.js';
import { consoleLogger, FlotillaNode } from '../server/node.js';

export async function serve(argv: readonly string[]): Promise<number> {
  let config: ReturnType<typeof parseServerConfig>;
  try {
    config = parseServerConfig(argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`flotilla serve: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  let node: FlotillaNode;
  try {
    node = await FlotillaNode.start(config, consoleLogger);
  } catch (error) {
    process.stderr.write(
      `flotilla serve: cannot start member '${config.name}': ${(error as Error).message}\n`,
    );
    return 1;
  }
  const clients = await startClientServer(node);
  consoleLogger.info('serving client requests', {
    name: config.name,
    member: hexId(node.memberId),
    cluster: hexId(node.clusterId),
    clientUrls: config.advertiseClientUrls,
    ports: clients.ports,
  });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      consoleLogger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  await clients.stop();
  await node.stop();
  return 0;
}
