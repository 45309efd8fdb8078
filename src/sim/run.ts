// One seeded simulation run: build a cluster with parameters drawn from the seed, run a safety
// phase under faults with invariants checked after every step, heal everything, require
// progress within a bound (liveness), then check that no acknowledged write was lost and that
// the client history is linearizable.

import { checkLinearizability } from '../check/linearizability.js';
import { type KvInput, kvModel } from '../check/models.js';
import { InvariantError } from '../raft/assert.js';
import type { PlantedBug } from '../raft/config.js';
import { SeededRng } from '../raft/rng.js';
import type { NodeId } from '../raft/types.js';
import { SimCluster } from './cluster.js';
import { Nemesis } from './faults.js';
import { SafetyViolation } from './invariants.js';
import type { NodeSettings } from './node.js';
import { EventQueue } from './queue.js';

export interface SimOptions {
  readonly seed: number;
  readonly plantedBug: PlantedBug | null;
  /** Simulated time with faults on. */
  readonly safetyMs?: number;
  /** After healing, a leader must commit a new write and every member converge within this. */
  readonly livenessBoundMs?: number;
}

export interface SimResult {
  readonly seed: number;
  readonly passed: boolean;
  /** The property that failed and how, or null. */
  readonly failure: string | null;
  readonly traceHash: string;
  readonly stats: {
    readonly nodes: number;
    readonly initialVoters: number;
    readonly operations: number;
    readonly acknowledgedWrites: number;
    readonly faults: number;
    readonly events: number;
    readonly simulatedMs: number;
  };
  readonly faultLog: readonly string[];
}

export const DEFAULT_SAFETY_MS = 4_000;
export const DEFAULT_LIVENESS_BOUND_MS = 10_000;
const CLIENTS = 8;
const KEYS = ['a', 'b', 'c', 'd'];
const CLIENT_TIMEOUT_MS = 300;
const FAULT_INTERVAL_MIN_MS = 50;
const FAULT_INTERVAL_MAX_MS = 400;

function pickFrom<T>(rng: SeededRng, items: readonly T[]): T {
  return items[rng.nextInt(items.length)];
}

function drawNodeSettings(rng: SeededRng, plantedBug: PlantedBug | null): NodeSettings {
  return {
    electionTicks: 10,
    heartbeatTicks: 2,
    tickMs: 10,
    // Tiny messages force one entry per append, which exercises backtracking and old-term commits.
    maxMessageBytes: pickFrom(rng, [64, 64, 1024, 64 * 1024]),
    maxInflightMessages: pickFrom(rng, [1, 4, 64]),
    snapshotEveryEntries: pickFrom(rng, [8, 40, 1000]),
    fsyncBaseMs: pickFrom(rng, [1, 4, 10]),
    plantedBug,
  };
}

export function runSeed(options: SimOptions): SimResult {
  const { seed, plantedBug } = options;
  const safetyMs = options.safetyMs ?? DEFAULT_SAFETY_MS;
  const livenessBoundMs = options.livenessBoundMs ?? DEFAULT_LIVENESS_BOUND_MS;
  const rng = new SeededRng(seed);
  const queue = new EventQueue();
  const totalNodes = 3 + rng.nextInt(5);
  const initialVoters = totalNodes >= 5 && rng.chance(0.5) ? 5 : 3;
  const ids: NodeId[] = [];
  for (let i = 1; i <= totalNodes; i++) ids.push(BigInt(i));
  const cluster = new SimCluster(queue, rng, ids, drawNodeSettings(rng, plantedBug), {
    dropRate: pickFrom(rng, [0, 0.01, 0.05]),
    duplicateRate: pickFrom(rng, [0, 0.01, 0.05]),
    delayMinMs: 1,
    delayMaxMs: pickFrom(rng, [2, 5, 15]),
    spikeRate: pickFrom(rng, [0, 0.01]),
    spikeMaxMs: 300,
  });
  const nemesis = new Nemesis(cluster);
  bootstrap(cluster, ids.slice(0, initialVoters));
  for (const node of cluster.nodes.values()) node.start();

  let phase: 'safety' | 'liveness' = 'safety';
  let failure: string | null = null;
  let operations = 0;

  const homes = Array.from({ length: CLIENTS }, () => pickFrom(rng, ids.slice(0, initialVoters)));
  const clientLoop = (client: number, counter: number) => {
    if (phase !== 'safety') return;
    const targets = cluster.running();
    if (targets.length === 0) {
      queue.schedule(10, () => clientLoop(client, counter));
      return;
    }
    // Clients mostly stay with one node, as real clients keep a connection; so a node cut off
    // from the cluster keeps serving its clients while the rest moves on without it.
    const home = homes[client];
    const node = targets.some((t) => t.id === home) && rng.chance(0.8) ? home : pickFrom(rng, targets).id;
    const key = pickFrom(rng, KEYS);
    const value = `${client}-${counter}`;
    // Even-numbered clients mostly read, odd ones mostly write.
    const roll = rng.nextInt(10);
    const readShare = client % 2 === 0 ? 7 : 3;
    const input: KvInput =
      roll < readShare
        ? { type: 'read', key }
        : roll < readShare + (10 - readShare) * 0.7
          ? { type: 'write', key, value }
          : {
              type: 'cas',
              key,
              expected: pickFrom(rng, [
                null,
                `${client}-${counter - 1}`,
                `${rng.nextInt(CLIENTS)}-${rng.nextInt(Math.max(1, counter))}`,
              ]),
              value,
            };
    operations++;
    cluster.submit(client, node, input, CLIENT_TIMEOUT_MS, () => {
      queue.schedule(1 + rng.nextInt(20), () => clientLoop(client, counter + 1));
    });
  };
  for (let client = 0; client < CLIENTS; client++)
    queue.schedule(rng.nextInt(50), () => clientLoop(client, 0));

  const faultLoop = () => {
    if (phase !== 'safety') return;
    nemesis.strike();
    queue.schedule(
      FAULT_INTERVAL_MIN_MS + rng.nextInt(FAULT_INTERVAL_MAX_MS - FAULT_INTERVAL_MIN_MS),
      faultLoop,
    );
  };
  queue.schedule(200 + rng.nextInt(300), faultLoop);

  try {
    while (queue.runNext(safetyMs)) {}
    phase = 'liveness';
    nemesis.stop();
    heal(cluster, nemesis);
    failure = requireLiveness(cluster, safetyMs + livenessBoundMs);
    if (failure === null) failure = checkNoAcknowledgedWriteLost(cluster);
  } catch (error) {
    // The real code's own assertions are checkers too: a node that stops on a broken invariant
    // (on restart, say) fails the seed, which the CLI then reports with its replay command.
    if (!(error instanceof SafetyViolation || error instanceof InvariantError)) throw error;
    failure = error instanceof InvariantError ? `Assertion: ${error.message}` : error.message;
  }
  cluster.abandonPending();
  if (failure === null) {
    const result = checkLinearizability(kvModel, cluster.history.operations());
    if (result.valid === false) failure = `Linearizability: ${result.message}`;
    else if (result.valid === 'unknown') failure = `Linearizability: check incomplete (${result.reason})`;
  }
  return {
    seed,
    passed: failure === null,
    failure,
    traceHash: cluster.trace.hex(),
    stats: {
      nodes: totalNodes,
      initialVoters,
      operations,
      acknowledgedWrites: cluster.acknowledgedWrites.size,
      faults: nemesis.log.length,
      events: cluster.trace.events,
      simulatedMs: queue.nowMs,
    },
    faultLog: nemesis.log,
  };
}

/** The initial voters start from a snapshot at index 1 that names them; spares start empty. */
function bootstrap(cluster: SimCluster, voters: readonly NodeId[]): void {
  for (const id of voters) cluster.node(id).bootstrap(voters);
}

function heal(cluster: SimCluster, nemesis: Nemesis): void {
  cluster.network.healAll();
  for (const node of cluster.nodes.values()) {
    node.restoreDiskSpeed();
    node.clockSlowdown = 1;
    node.failNextFsync = false;
    if (node.isPaused) node.resume();
    if (!node.running) nemesis.restart(node.id);
  }
}

/**
 * Liveness: with every fault healed, some leader must commit a new write, and every member must
 * apply everything committed, before `deadlineMs`. Returns a failure description or null.
 */
function requireLiveness(cluster: SimCluster, deadlineMs: number): string | null {
  const queue = cluster.queue;
  let sentinelAcknowledged = false;
  let attempt = 0;
  const trySentinel = () => {
    if (sentinelAcknowledged) return;
    const leader = cluster.leader();
    if (leader !== null) {
      const input: KvInput = { type: 'write', key: 'sentinel', value: `s${attempt++}` };
      cluster.submit(-1, leader.id, input, 500, (outcome) => {
        if (outcome === 'ok') sentinelAcknowledged = true;
      });
    }
    queue.schedule(100, trySentinel);
  };
  queue.schedule(0, trySentinel);
  while (queue.nowMs < deadlineMs) {
    if (!queue.runNext(deadlineMs)) break;
    if (sentinelAcknowledged && converged(cluster)) return null;
  }
  if (!sentinelAcknowledged) {
    return `Liveness: no write committed between healing and ${deadlineMs}ms\n${describeNodes(cluster)}`;
  }
  return `Liveness: members did not converge on the committed log after healing\n${describeNodes(cluster)}`;
}

function describeNodes(cluster: SimCluster): string {
  const lines: string[] = [];
  for (const node of cluster.nodes.values()) {
    if (node.raw === null) {
      lines.push(`    node ${node.id}: down${cluster.retired.has(node.id) ? ' (removed)' : ''}`);
      continue;
    }
    const s = node.raw.status();
    const progress = [...s.progress]
      .map(([id, p]) => `${id}:${p.match}/${p.next}/${p.state}/${p.inflight}`)
      .join(' ');
    lines.push(
      `    node ${node.id}: ${s.role} term=${s.term} lead=${s.lead} commit=${s.commit} applied=${s.applied} log=[${s.firstIndex},${s.lastIndex}] voters=[${s.voters}] learners=[${s.learners}]${progress ? ` progress ${progress}` : ''}`,
    );
  }
  return lines.join('\n');
}

function converged(cluster: SimCluster): boolean {
  const leader = cluster.leader();
  if (leader === null) return false;
  const raft = leader.raw!.raft;
  for (const id of raft.membership.all()) {
    const node = cluster.nodes.get(id);
    if (node === undefined || !node.running) return false;
    if (node.raw!.raft.log.applied < raft.log.committed) return false;
  }
  return true;
}

function checkNoAcknowledgedWriteLost(cluster: SimCluster): string | null {
  const leader = cluster.leader();
  if (leader === null) return 'Durability: no leader at the end of the run';
  for (const id of cluster.acknowledgedWrites) {
    if (!leader.machine.hasApplied(id))
      return `Durability: acknowledged write ${id} is missing from leader ${leader.id}'s state`;
  }
  return null;
}
