// `flotilla chaos`: the fault lab. See docs/chaos.md.
//   --time S            seconds of load under faults (default 30)
//   --nodes N           members (default 3)
//   --nemesis LIST      comma-separated, `all` or `none` (default all); --nemesis list names them
//   --workload LIST     register,set (default both)
//   --seed N            fault schedule and workload choices (default: random, printed)
//   --unsafe NAME       switch on a known-wrong behaviour in the members; --unsafe list names them
//   --out DIR           where the history, report and (on failure) data go (default chaos-results/<time>)

import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runLab } from '../chaos/lab.js';
import { NEMESES, parseNemeses } from '../chaos/nemesis.js';
import { parseWorkloads, WORKLOADS } from '../chaos/workloads.js';
import { UNSAFE_MODES } from '../server/config.js';

export async function chaos(argv: readonly string[]): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        time: { type: 'string', default: '30' },
        nodes: { type: 'string', default: '3' },
        nemesis: { type: 'string', default: 'all' },
        workload: { type: 'string', default: 'register,set' },
        seed: { type: 'string' },
        unsafe: { type: 'string' },
        out: { type: 'string' },
        clients: { type: 'string', default: '2' },
      },
    }).values as Record<string, string | undefined>;
  } catch (error) {
    process.stderr.write(`flotilla chaos: ${(error as Error).message}\n`);
    return 2;
  }
  if (values.unsafe === 'list') {
    for (const [name, what] of Object.entries(UNSAFE_MODES)) process.stdout.write(`${name}\t${what}\n`);
    return 0;
  }
  if (values.nemesis === 'list') {
    for (const [name, what] of Object.entries(NEMESES)) process.stdout.write(`${name}\t${what}\n`);
    return 0;
  }
  if (values.workload === 'list') {
    for (const [name, what] of Object.entries(WORKLOADS)) process.stdout.write(`${name}\t${what}\n`);
    return 0;
  }
  const number = (name: string, min: number, max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
  try {
    if (values.unsafe !== undefined && !Object.hasOwn(UNSAFE_MODES, values.unsafe)) {
      throw new Error(`--unsafe: unknown '${values.unsafe}' (see --unsafe list)`);
    }
    const seed = values.seed === undefined ? randomInt(1, 2 ** 31) : number('seed', 0, 2 ** 31 - 1);
    const outDir = values.out ?? join('chaos-results', new Date().toISOString().replaceAll(':', '-'));
    const result = await runLab({
      timeMs: number('time', 1, 24 * 3600) * 1000,
      nodes: number('nodes', 1, 7),
      nemeses: parseNemeses(values.nemesis ?? 'all'),
      workloads: parseWorkloads(values.workload ?? 'register,set'),
      seed,
      unsafe: values.unsafe ?? null,
      outDir,
      clientsPerMember: number('clients', 1, 16),
      progress: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(
      `history: ${result.historyFile}\nreport: ${result.reportFile}\nseed: ${seed}\n${result.verdictLine}\n`,
    );
    return result.verdict === 'valid' ? 0 : 1;
  } catch (error) {
    process.stderr.write(`flotilla chaos: ${(error as Error).message}\n`);
    return 2;
  }
}
