// `npm run sim -- --seeds N | --seed S | --plant-bug NAME|list [--first-seed F] [--verbose]`

import { parseArgs } from 'node:util';
import { PLANTED_BUGS, type PlantedBug } from '../raft/config.js';
import { runSeed, type SimResult } from './run.js';

function usage(message: string): never {
  process.stderr.write(
    `sim: ${message}\nusage: npm run sim -- [--seeds N] [--first-seed F] [--seed S] [--plant-bug NAME|list] [--verbose]\n`,
  );
  process.exit(2);
}

function parseCount(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]+$/.test(text)) usage(`--${name} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

function replayCommand(seed: number, bug: PlantedBug | null): string {
  return `npm run sim -- --seed ${seed}${bug === null ? '' : ` --plant-bug ${bug}`}`;
}

function describe(result: SimResult): string {
  const s = result.stats;
  return `seed ${result.seed}: ${result.passed ? 'ok' : 'FAILED'} nodes=${s.nodes} voters=${s.initialVoters} ops=${s.operations} acked-writes=${s.acknowledgedWrites} faults=${s.faults} events=${s.events} trace=${result.traceHash}`;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      'first-seed': { type: 'string' },
      seed: { type: 'string' },
      'plant-bug': { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const bugName = values['plant-bug'];
  if (bugName === 'list') {
    for (const [name, description] of Object.entries(PLANTED_BUGS))
      process.stdout.write(`${name}\t${description}\n`);
    return;
  }
  if (bugName !== undefined && !(bugName in PLANTED_BUGS))
    usage(`unknown planted bug '${bugName}' (see --plant-bug list)`);
  const bug = (bugName ?? null) as PlantedBug | null;

  if (values.seed !== undefined) {
    const seed = parseCount('seed', values.seed, 0);
    const result = runSeed({ seed, plantedBug: bug });
    process.stdout.write(`${describe(result)}\n`);
    if (values.verbose) for (const line of result.faultLog) process.stdout.write(`  ${line}\n`);
    if (!result.passed) process.stdout.write(`  ${result.failure}\n`);
    process.exitCode = result.passed ? 0 : 1;
    return;
  }

  const count = parseCount('seeds', values.seeds, 100);
  const first = parseCount('first-seed', values['first-seed'], 1);
  let passed = 0;
  const started = process.hrtime.bigint();
  for (let seed = first; seed < first + count; seed++) {
    const result = runSeed({ seed, plantedBug: bug });
    if (result.passed) passed++;
    else
      process.stdout.write(
        `${describe(result)}\n  ${result.failure}\n  replay: ${replayCommand(seed, bug)}\n`,
      );
    if (values.verbose && result.passed) process.stdout.write(`${describe(result)}\n`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    `sim: ${passed}/${count} seeds passed (${seconds.toFixed(1)}s${bug === null ? '' : `, planted bug ${bug}`})\n`,
  );
  process.exitCode = passed === count ? 0 : 1;
}

main();
