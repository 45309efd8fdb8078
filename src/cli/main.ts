// `flotilla <command>`: the single entry point for operators and developers.

import { readFileSync } from 'node:fs';

const USAGE = `usage: flotilla <command> [options]

commands:
  dev       start a local three-node cluster with its dashboard (not available yet)
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
    case 'dev':
      process.stdout.write(
        'flotilla dev: the Flotilla server is not built yet, so there is no local cluster to start.\n' +
          'What works today: the Raft core and its deterministic simulator — try `npm run sim -- --seeds 100`.\n',
      );
      return 0;
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
