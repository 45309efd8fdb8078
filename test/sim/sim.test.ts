// The simulator as evidence: many seeded runs with faults must all pass, a seed must replay
// exactly, and every planted bug must be caught within the CI seed budget (a checker that cannot
// fail proves nothing). FLOTILLA_SIM_SEEDS raises the clean-run budget for longer soaks.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PLANTED_BUGS, type PlantedBug } from '../../src/raft/config.js';
import { runSeed } from '../../src/sim/run.js';

const CLEAN_SEEDS = Number(process.env.FLOTILLA_SIM_SEEDS ?? 1000);
/** Seeds tried per planted bug before the test gives up and fails. */
const PLANTED_BUG_SEED_BUDGET = Number(process.env.FLOTILLA_SIM_BUG_BUDGET ?? 3000);

describe('deterministic simulation', () => {
  test(`with no planted bug, all ${CLEAN_SEEDS} seeds pass every safety, liveness and linearizability check`, () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= CLEAN_SEEDS; seed++) {
      const result = runSeed({ seed, plantedBug: null });
      if (!result.passed) failures.push(`seed ${seed}: ${result.failure}`);
    }
    assert.deepEqual(failures, []);
  });

  test('a seed replays exactly: same trace hash, same outcome', () => {
    for (const seed of [7, 42, 1234]) {
      const first = runSeed({ seed, plantedBug: null });
      const second = runSeed({ seed, plantedBug: null });
      assert.equal(second.traceHash, first.traceHash);
      assert.deepEqual(second.stats, first.stats);
      assert.ok(
        first.stats.events > 1000,
        `seed ${seed} should do real work, did ${first.stats.events} events`,
      );
    }
  });

  test('different seeds take different paths', () => {
    const hashes = new Set([1, 2, 3, 4, 5].map((seed) => runSeed({ seed, plantedBug: null }).traceHash));
    assert.equal(hashes.size, 5);
  });

  for (const bug of Object.keys(PLANTED_BUGS) as PlantedBug[]) {
    test(`planted bug '${bug}' is caught within ${PLANTED_BUG_SEED_BUDGET} seeds`, () => {
      for (let seed = 1; seed <= PLANTED_BUG_SEED_BUDGET; seed++) {
        const result = runSeed({ seed, plantedBug: bug });
        if (!result.passed) {
          assert.match(
            result.failure ?? '',
            /^(Election Safety|Leader Append-Only|Log Matching|Leader Completeness|State Machine Safety|Linearizability|Durability)/,
          );
          return;
        }
      }
      assert.fail(
        `planted bug '${bug}' survived ${PLANTED_BUG_SEED_BUDGET} seeds: the checkers cannot see it`,
      );
    });
  }
});
