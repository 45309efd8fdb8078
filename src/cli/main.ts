// `flotilla <command>`: the single entry point for operators and developers.

import { readFileSync } from 'node:fs';

const USAGE = `usage: flotilla <command> [options]

commands:
  serve     run one member (etcd's flags: --name, --data-dir, --listen-client-urls, ...)
  dev       start a local three-node cluster (--nodes N, --base-port P, --data-dir D)
  snapshot  restore FILE --data-dir D --name N --initial-cluster ...: a new cluster from a backup
  chaos     the fault lab: a real cluster under partitions, kills and pauses, histories checked
  sim       run the deterministic cluster simulator (see: flotilla sim --help)
  version   print the version
  help      show this help
`;

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return packageJson.version;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
    case '--version':
      process.stdout.write(`flotilla ${version()}\n`);
      return 0;
    case 'serve':
      return (await import('./serve.js')).serve(rest);
    case 'dev':
      return (await import('./dev.js')).dev(rest);
    case 'chaos':
      return (await import('./chaos.js')).chaos(rest);
    case 'snapshot':
      return (await import('./snapshot.js')).snapshot(rest);
    case 'sim': {
      process.argv = [process.argv[0], 'flotilla-sim', ...rest];
      await import('../sim/cli.js');
      return process.exitCode === undefined ? 0 : Number(process.exitCode);
    }
    default:
      process.stderr.write(`flotilla: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
