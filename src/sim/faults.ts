// The simulator's nemesis: one random fault at a time during the safety phase. Each fault is
// small and named so a failing trace reads like a story ("isolate-leader", "crash 3", ...).

import { ConfChangeType, type NodeId } from '../raft/types.js';
import type { SimCluster } from './cluster.js';

export type FaultName =
  | 'partition-halves'
  | 'isolate-leader'
  | 'bridge'
  | 'one-way'
  | 'clog-link'
  | 'heal'
  | 'crash-node'
  | 'crash-leader'
  | 'crash-minority'
  | 'crash-all'
  | 'pause-leader'
  | 'pause-node'
  | 'slow-disk'
  | 'fail-fsync'
  | 'add-learner'
  | 'promote-learner'
  | 'remove-member'
  | 'transfer-leader'
  | 'leader-churn'
  | 'skew-leader-clock'
  | 'skew-clock';

/** Weighted: a name listed twice is drawn twice as often. */
const FAULTS: readonly FaultName[] = [
  'partition-halves',
  'isolate-leader',
  'isolate-leader',
  'leader-churn',
  'leader-churn',
  'skew-leader-clock',
  'skew-clock',
  'bridge',
  'one-way',
  'clog-link',
  'heal',
  'heal',
  'crash-node',
  'crash-leader',
  'crash-minority',
  'crash-all',
  'crash-all',
  'pause-leader',
  'pause-node',
  'slow-disk',
  'fail-fsync',
  'add-learner',
  'promote-learner',
  'remove-member',
  'transfer-leader',
];

/** Bounds on how long a crashed or paused node stays down. */
const DOWN_MIN_MS = 20;
const DOWN_MAX_MS = 1500;
/** Leader churn: how long to wait for the next leader, and how soon after election to cut it off. */
const CHURN_WAIT_MAX_MS = 1000;
const CHURN_CUT_DELAY_MAX_MS = 5;

export class Nemesis {
  readonly log: string[] = [];
  /** Cleared when the safety phase ends: scheduled fault steps then do nothing. */
  private active = true;

  stop(): void {
    this.active = false;
  }

  constructor(private readonly cluster: SimCluster) {}

  private shuffle<T>(items: T[]): T[] {
    const rng = this.cluster.rng;
    for (let i = items.length - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.cluster.rng.nextInt(items.length)];
  }

  private liveIds(): NodeId[] {
    return [...this.cluster.nodes.keys()].filter((id) => !this.cluster.retired.has(id));
  }

  private downtimeMs(): number {
    return DOWN_MIN_MS + this.cluster.rng.nextInt(DOWN_MAX_MS - DOWN_MIN_MS);
  }

  private record(what: string): void {
    this.log.push(`${this.cluster.queue.nowMs}ms ${what}`);
    this.cluster.trace.add(`f${what}`);
  }

  /** Injects one random fault. */
  strike(): void {
    const fault = this.pick(FAULTS)!;
    this.inject(fault);
  }

  inject(fault: FaultName): void {
    const cluster = this.cluster;
    const ids = this.liveIds();
    const leader = cluster.leader();
    switch (fault) {
      case 'partition-halves': {
        const shuffled = this.shuffle(ids.slice());
        const cut = 1 + cluster.rng.nextInt(shuffled.length - 1);
        cluster.network.partition(shuffled.slice(0, cut), shuffled.slice(cut));
        return this.record(`partition [${shuffled.slice(0, cut)}] | [${shuffled.slice(cut)}]`);
      }
      case 'isolate-leader': {
        if (leader === null) return;
        cluster.network.partition(
          [leader.id],
          ids.filter((id) => id !== leader.id),
        );
        return this.record(`isolate leader ${leader.id}`);
      }
      case 'bridge': {
        // Two halves that can both see one bridge node (Jepsen's "bridge").
        const shuffled = this.shuffle(ids.slice());
        if (shuffled.length < 3) return;
        const bridge = shuffled[0];
        const half = Math.floor((shuffled.length - 1) / 2);
        const left = shuffled.slice(1, 1 + half);
        const right = shuffled.slice(1 + half);
        cluster.network.partition(left, right);
        return this.record(`bridge ${bridge} between [${left}] and [${right}]`);
      }
      case 'one-way': {
        const [from, to] = this.shuffle(ids.slice());
        if (to === undefined) return;
        cluster.network.cutOneWay(from, to);
        return this.record(`cut ${from} -> ${to}`);
      }
      case 'clog-link': {
        const [from, to] = this.shuffle(ids.slice());
        if (to === undefined) return;
        cluster.network.clog(from, to);
        cluster.queue.schedule(this.downtimeMs(), () => cluster.network.unclog(from, to));
        return this.record(`clog ${from} -> ${to}`);
      }
      case 'heal':
        cluster.network.healPartitions();
        return this.record('heal partitions');
      case 'crash-node':
        return this.crash([this.pick(ids)!]);
      case 'crash-leader':
        return leader === null ? undefined : this.crash([leader.id]);
      case 'crash-minority': {
        const shuffled = this.shuffle(ids.slice());
        return this.crash(shuffled.slice(0, Math.max(1, Math.floor((shuffled.length - 1) / 2))));
      }
      case 'crash-all':
        return this.crash(ids);
      case 'pause-leader':
        return leader === null ? undefined : this.pause(leader.id);
      case 'pause-node':
        return this.pause(this.pick(ids)!);
      case 'slow-disk': {
        const node = cluster.node(this.pick(ids)!);
        node.fsyncLatencyMs = 20 + cluster.rng.nextInt(80);
        cluster.queue.schedule(this.downtimeMs(), () => node.restoreDiskSpeed());
        return this.record(`slow disk on ${node.id} (${node.fsyncLatencyMs}ms fsync)`);
      }
      case 'fail-fsync': {
        const node = cluster.node(this.pick(ids)!);
        node.failNextFsync = true;
        cluster.queue.schedule(this.downtimeMs(), () => this.restart(node.id));
        return this.record(`fail next fsync on ${node.id}`);
      }
      case 'add-learner':
        return this.changeMembership('add-learner');
      case 'promote-learner':
        return this.changeMembership('promote-learner');
      case 'remove-member':
        return this.changeMembership('remove-member');
      case 'skew-leader-clock':
        return leader === null ? undefined : this.skewClock(leader.id);
      case 'skew-clock':
        return this.skewClock(this.pick(ids)!);
      case 'leader-churn':
        return this.churnLeaders(2 + cluster.rng.nextInt(4), null);
      case 'transfer-leader': {
        if (leader === null) return;
        const target = this.pick([...leader.raw!.raft.membership.voters].filter((id) => id !== leader.id));
        if (target === undefined) return;
        leader.transferLeadership(target);
        return this.record(`transfer leadership ${leader.id} -> ${target}`);
      }
    }
  }

  /**
   * Cuts off each newly elected leader within a few milliseconds of its election, `rounds`
   * times, letting the previous one back in. Leaders that lose contact right after appending
   * leave divergent log suffixes from several terms behind: the situation of Raft's Figure 8.
   */
  private churnLeaders(rounds: number, previous: NodeId | null): void {
    const cluster = this.cluster;
    const deadlineMs = cluster.queue.nowMs + CHURN_WAIT_MAX_MS;
    const waitForNewLeader = () => {
      if (!this.active) return;
      const leader = cluster.leader();
      if (leader !== null && leader.id !== previous) {
        cluster.queue.schedule(cluster.rng.nextInt(CHURN_CUT_DELAY_MAX_MS + 1), () => {
          if (!this.active) return;
          cluster.network.healPartitions();
          if (cluster.rng.chance(0.5)) {
            // Crashing loses what the leader had not yet fsynced, as well as its leadership.
            this.crash([leader.id]);
          } else {
            const others = this.liveIds().filter((id) => id !== leader.id);
            cluster.network.partition([leader.id], others);
            this.record(`churn: isolate new leader ${leader.id}`);
          }
          if (rounds > 1) this.churnLeaders(rounds - 1, leader.id);
        });
        return;
      }
      if (cluster.queue.nowMs < deadlineMs) cluster.queue.schedule(1, waitForNewLeader);
    };
    waitForNewLeader();
  }

  private crash(ids: readonly NodeId[]): void {
    for (const id of ids) {
      const node = this.cluster.node(id);
      if (!node.running) continue;
      node.crash();
      this.cluster.invariants.crashed(node);
      this.cluster.queue.schedule(this.downtimeMs(), () => this.restart(id));
    }
    this.record(`crash [${ids}]`);
  }

  restart(id: NodeId): void {
    const node = this.cluster.node(id);
    if (node.running || this.cluster.retired.has(id)) return;
    node.start();
    this.record(`restart ${id}`);
  }

  /** The node's clock runs slow: its election and CheckQuorum timers fire late. */
  private skewClock(id: NodeId): void {
    const node = this.cluster.node(id);
    node.clockSlowdown = 2 + this.cluster.rng.nextInt(7);
    this.cluster.queue.schedule(this.downtimeMs() * 2, () => {
      node.clockSlowdown = 1;
    });
    this.record(`clock of ${id} runs ${node.clockSlowdown}x slow`);
  }

  private pause(id: NodeId): void {
    const node = this.cluster.node(id);
    if (!node.running || node.isPaused) return;
    node.pause();
    this.cluster.queue.schedule(this.downtimeMs(), () => node.resume());
    this.record(`pause ${id}`);
  }

  private changeMembership(kind: 'add-learner' | 'promote-learner' | 'remove-member'): void {
    const leader = this.cluster.leader();
    if (leader === null) return;
    const membership = leader.raw!.raft.membership;
    let nodeId: NodeId | undefined;
    let type: ConfChangeType;
    if (kind === 'add-learner') {
      nodeId = this.pick(this.liveIds().filter((id) => !membership.has(id)));
      type = ConfChangeType.AddLearner;
    } else if (kind === 'promote-learner') {
      nodeId = this.pick([...membership.learners]);
      type = ConfChangeType.AddVoter;
    } else {
      // Keep at least three voters so the cluster can still lose one.
      const candidates = membership.voters.size > 3 ? [...membership.all()] : [...membership.learners];
      nodeId = this.pick(candidates);
      type = ConfChangeType.RemoveNode;
    }
    if (nodeId === undefined) return;
    const accepted = leader.proposeConfChange({ type, nodeId, context: new Uint8Array(0) });
    this.record(`${kind} ${nodeId} via ${leader.id}${accepted ? '' : ' (refused)'}`);
  }
}
