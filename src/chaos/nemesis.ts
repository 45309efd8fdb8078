// Nemeses: the faults the lab injects into a real cluster, one window at a time. Every window is
// recorded (name, start, end, detail) for the report's timeline.

import type { SeededRng } from '../raft/rng.js';
import type { LabCluster, LabMember } from './cluster.js';
import type { FaultWindow } from './report.js';

export const NEMESES = {
  'partition-halves': 'cut the cluster into two random sides',
  'isolate-leader': 'cut the leader off from everyone else',
  bridge: 'two sides that both see one bridge member',
  ring: 'each member hears only its two neighbours (overlapping majorities)',
  'one-way': 'one member can no longer reach another, the reverse still works',
  latency: 'add 50-200 ms to every link from and to one member',
  'kill-one': 'SIGKILL one member, restart it later',
  'kill-minority': 'SIGKILL a minority, restart them later',
  'kill-all': 'SIGKILL every member at once, restart them later',
  pause: 'SIGSTOP one member (sometimes the leader), SIGCONT later',
  'transfer-leader': 'move leadership to another member (MoveLeader)',
  'clock-skew': "one member's lease clock jumps by up to ±5 s and its Raft ticks run 2-5x slow",
  'slow-disk': "one member's fsyncs take 20-100 ms longer",
  'fail-fsync': "one member's next fsync fails (it stops, as on EIO); restarted later",
  membership: 'add a learner, start it, promote it, then remove an original member (cluster size kept)',
} as const;

export type NemesisName = keyof typeof NEMESES;

export function parseNemeses(text: string): NemesisName[] {
  if (text === 'all') return Object.keys(NEMESES) as NemesisName[];
  if (text === 'none' || text === '') return [];
  return text.split(',').map((name) => {
    if (!Object.hasOwn(NEMESES, name))
      throw new Error(`unknown nemesis '${name}' (known: ${Object.keys(NEMESES).join(', ')}, all, none)`);
    return name as NemesisName;
  });
}

/** How long a fault lasts, and the quiet time between faults. */
const FAULT_MS_MIN = 2_000;
const FAULT_MS_MAX = 6_000;
const QUIET_MS_MIN = 500;
const QUIET_MS_MAX = 2_500;

export class Nemesis {
  private readonly open: { -readonly [K in keyof FaultWindow]: FaultWindow[K] }[] = [];

  /** Every fault window so far (an unfinished one has endMs null). */
  get windows(): readonly FaultWindow[] {
    return this.open;
  }
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly cluster: LabCluster,
    private readonly names: readonly NemesisName[],
    private readonly rng: SeededRng,
    private readonly startMs: number,
  ) {}

  private now(): number {
    return Date.now() - this.startMs;
  }

  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.rng.nextInt(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  start(): void {
    if (this.names.length === 0) return;
    this.loop = (async () => {
      while (!this.stopped) {
        await this.sleep(QUIET_MS_MIN + this.rng.nextInt(QUIET_MS_MAX - QUIET_MS_MIN));
        if (this.stopped) break;
        const name = this.names[this.rng.nextInt(this.names.length)];
        await this.strike(name, FAULT_MS_MIN + this.rng.nextInt(FAULT_MS_MAX - FAULT_MS_MIN));
      }
    })();
  }

  /** Ends the schedule; the fault in progress is healed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private record(name: string, startMs: number, detail: string): { endMs: number | null } {
    const window = { name, startMs, endMs: null as number | null, detail };
    this.open.push(window);
    return window;
  }

  /** Applies one fault for `durationMs` (cut short if the lab stops), then heals it. */
  private async strike(name: NemesisName, durationMs: number): Promise<void> {
    const cluster = this.cluster;
    const members = cluster.members;
    const started = this.now();
    let heal: () => Promise<void> | void = () => cluster.healNetwork();
    let detail = '';
    switch (name) {
      case 'partition-halves': {
        const shuffled = this.shuffle(members.slice());
        const cut = 1 + this.rng.nextInt(shuffled.length - 1);
        cluster.partition(shuffled.slice(0, cut), shuffled.slice(cut));
        detail = `${names(shuffled.slice(0, cut))} | ${names(shuffled.slice(cut))}`;
        break;
      }
      case 'isolate-leader': {
        const leader = await cluster.leader();
        if (leader === null) return;
        cluster.partition(
          [leader],
          members.filter((m) => m !== leader),
        );
        detail = `leader ${leader.name} alone`;
        break;
      }
      case 'bridge': {
        const shuffled = this.shuffle(members.slice());
        const bridge = shuffled[0];
        const half = Math.floor((shuffled.length - 1) / 2);
        cluster.partition(shuffled.slice(1, 1 + half), shuffled.slice(1 + half));
        detail = `${bridge.name} bridges ${names(shuffled.slice(1, 1 + half))} and ${names(shuffled.slice(1 + half))}`;
        break;
      }
      case 'ring': {
        const ordered = this.shuffle(members.slice());
        for (let i = 0; i < ordered.length; i++) {
          for (let j = 0; j < ordered.length; j++) {
            const distance = Math.min(
              (i - j + ordered.length) % ordered.length,
              (j - i + ordered.length) % ordered.length,
            );
            if (i !== j && distance > 1) cluster.setLink(ordered[i], ordered[j], { kind: 'drop' });
          }
        }
        detail = `ring ${names(ordered)}`;
        break;
      }
      case 'one-way': {
        const [from, to] = this.shuffle(members.slice());
        cluster.setLink(from, to, { kind: 'drop' });
        detail = `${from.name} -> ${to.name} cut`;
        break;
      }
      case 'latency': {
        const target = members[this.rng.nextInt(members.length)];
        const delayMs = 50 + this.rng.nextInt(150);
        for (const other of members) {
          if (other === target) continue;
          cluster.setLink(other, target, { kind: 'delay', delayMs });
          cluster.setLink(target, other, { kind: 'delay', delayMs });
        }
        detail = `${delayMs} ms to and from ${target.name}`;
        break;
      }
      case 'kill-one':
      case 'kill-minority':
      case 'kill-all': {
        const count =
          name === 'kill-one'
            ? 1
            : name === 'kill-all'
              ? members.length
              : Math.floor((members.length - 1) / 2) || 1;
        const victims = this.shuffle(members.slice()).slice(0, count);
        await Promise.all(victims.map((m) => cluster.kill(m)));
        detail = `SIGKILL ${names(victims)}`;
        heal = () => {
          for (const m of victims) cluster.restart(m);
        };
        break;
      }
      case 'pause': {
        const leader = this.rng.chance(0.5) ? await cluster.leader() : null;
        const target = leader ?? members[this.rng.nextInt(members.length)];
        cluster.pause(target);
        detail = `SIGSTOP ${target.name}${leader !== null ? ' (leader)' : ''}`;
        heal = () => cluster.resume(target);
        break;
      }
      case 'clock-skew': {
        const target = members[this.rng.nextInt(members.length)];
        const clockOffsetMs = (this.rng.nextInt(2) === 0 ? -1 : 1) * (500 + this.rng.nextInt(4_500));
        const tickSlowdown = 2 + this.rng.nextInt(4);
        cluster.setHooks(target, { clockOffsetMs, tickSlowdown });
        detail = `${target.name}: clock ${clockOffsetMs > 0 ? '+' : ''}${clockOffsetMs} ms, ticks ${tickSlowdown}x slow`;
        heal = () => cluster.setHooks(target, {});
        break;
      }
      case 'slow-disk': {
        const target = members[this.rng.nextInt(members.length)];
        const fsyncDelayMs = 20 + this.rng.nextInt(80);
        cluster.setHooks(target, { fsyncDelayMs });
        detail = `${target.name}: +${fsyncDelayMs} ms per fsync`;
        heal = () => cluster.setHooks(target, {});
        break;
      }
      case 'fail-fsync': {
        const target = members[this.rng.nextInt(members.length)];
        cluster.setHooks(target, { failFsync: true });
        detail = `${target.name}: next fsync fails`;
        heal = () => {
          cluster.setHooks(target, {});
          cluster.reap(target);
          cluster.restart(target);
        };
        break;
      }
      case 'membership': {
        const leader = await cluster.leader();
        if (leader === null || leader.process === null) return;
        const learner = await cluster.addLearner(leader);
        if (learner === null) return;
        const window = this.record(name, started, `added learner ${learner.name}`);
        // Give it time to catch up, then promote it and remove a follower that is up.
        await this.sleep(Math.min(durationMs, 3_000));
        const viaNow = (await cluster.leader()) ?? leader;
        const promoted = await cluster.promote(learner, viaNow);
        const victims = cluster.active().filter((m) => m !== learner && m !== viaNow && !m.joined);
        const victim = victims[this.rng.nextInt(Math.max(1, victims.length))];
        const removed = promoted && victim !== undefined ? await cluster.remove(victim, viaNow) : false;
        (window as { detail?: string }).detail =
          `added ${learner.name}, promoted: ${promoted}, removed ${removed ? victim?.name : 'none'}`;
        window.endMs = this.now();
        return;
      }
      case 'transfer-leader': {
        const leader = await cluster.leader();
        if (leader === null || leader.process === null) return;
        const target = this.shuffle(members.filter((m) => m !== leader && m.process !== null))[0];
        if (target === undefined) return;
        const { LabClient } = await import('./client.js');
        const client = new LabClient(cluster.address(leader), 2_000);
        const result = await client.moveLeader(target.id);
        client.close();
        this.record(name, started, `${leader.name} -> ${target.name}: ${result.kind}`).endMs = this.now();
        return;
      }
    }
    const window = this.record(name, started, detail);
    const until = Date.now() + durationMs;
    while (!this.stopped && Date.now() < until) await this.sleep(Math.min(100, until - Date.now()));
    await heal();
    window.endMs = this.now();
  }
}

function names(members: readonly LabMember[]): string {
  return `[${members.map((m) => m.name).join(',')}]`;
}
