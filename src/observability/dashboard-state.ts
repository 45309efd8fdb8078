// What the dashboard shows, gathered by whichever member serves it.
//
// Every member serves its own view as JSON at /api/status on its metrics listener (MemberStatus).
// Members publish their --listen-metrics-urls through Raft with their client URLs, so any member
// knows where every other one serves /api/status. The serving member fetches them all (bounded
// by a timeout; a member that does not answer is shown as unreachable), and merges them into one
// ClusterSnapshot: roles and indices per member, the leader and its history, replication lag per
// follower (from the leader's own view), cluster-wide request rate and latency percentiles (from
// the difference of summed latency histograms between two polls), watches, leases and events.

import type { ClusterEvent } from './events.js';
import type { FollowerView } from './metrics.js';

export interface RequestTotals {
  readonly count: number;
  /** Cumulative counts per bucket upper bound (seconds), as in a Prometheus histogram. */
  readonly buckets: readonly number[];
}

export interface MemberInfo {
  readonly id: string;
  readonly name: string;
  readonly clientUrls: readonly string[];
  readonly metricsUrls: readonly string[];
  readonly isLearner: boolean;
}

/** One member's own view (GET /api/status). */
export interface MemberStatus {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly term: number;
  /** Hex id of the leader this member knows, '' if none. */
  readonly leader: string;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly healthy: boolean;
  readonly ready: boolean;
  readonly dbSizeBytes: number;
  readonly watchers: number;
  readonly slowWatchers: number;
  readonly pendingEvents: number;
  readonly leases: number;
  readonly alarms: readonly string[];
  readonly followers: readonly FollowerView[];
  readonly requests: RequestTotals;
  readonly members: readonly MemberInfo[];
  readonly events: readonly ClusterEvent[];
}

export interface MemberRow {
  readonly id: string;
  readonly name: string;
  readonly reachable: boolean;
  readonly role: string;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly healthy: boolean;
  readonly isLearner: boolean;
}

export interface ClusterSnapshot {
  readonly atMs: number;
  /** The member serving this dashboard. */
  readonly servedBy: string;
  readonly members: readonly MemberRow[];
  readonly leader: { readonly id: string; readonly name: string; readonly term: number } | null;
  readonly leaderHistory: readonly { readonly atMs: number; readonly name: string; readonly term: number }[];
  readonly followers: readonly FollowerView[];
  readonly requests: {
    readonly perSecond: number;
    readonly p50Ms: number | null;
    readonly p90Ms: number | null;
    readonly p99Ms: number | null;
  };
  readonly watchers: number;
  readonly slowWatchers: number;
  readonly pendingEvents: number;
  readonly leases: number;
  readonly alarms: readonly string[];
  readonly events: readonly ClusterEvent[];
}

/** How long the serving member waits for another member's /api/status. */
export const MEMBER_FETCH_TIMEOUT_MS = 800;
/** Events and leader changes shown. */
const EVENTS_SHOWN_MAX = 60;
const LEADER_HISTORY_MAX = 30;

export type StatusFetcher = (metricsUrl: string) => Promise<MemberStatus>;

export async function fetchStatus(metricsUrl: string): Promise<MemberStatus> {
  const response = await fetch(`${metricsUrl}/api/status`, {
    signal: AbortSignal.timeout(MEMBER_FETCH_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`${metricsUrl}/api/status: HTTP ${response.status}`);
  return (await response.json()) as MemberStatus;
}

export class ClusterView {
  private previous: { atMs: number; totals: RequestTotals } | null = null;
  private readonly leaderHistory: { atMs: number; name: string; term: number }[] = [];

  constructor(
    private readonly self: () => Promise<MemberStatus>,
    private readonly bucketBoundsSeconds: readonly number[],
    private readonly fetcher: StatusFetcher = fetchStatus,
  ) {}

  async poll(): Promise<ClusterSnapshot> {
    const own = await this.self();
    const others = own.members.filter((m) => m.id !== own.id);
    const fetched = await Promise.all(others.map((m) => this.fetchMember(m)));
    const statuses = [own, ...fetched.filter((s): s is MemberStatus => s !== null)];
    const byId = new Map(statuses.map((s) => [s.id, s]));
    const infos = own.members.length > 0 ? own.members : [memberInfoOf(own)];
    const rows = infos.map((info) => rowOf(info, byId.get(info.id)));
    const leaderStatus = pickLeader(statuses);
    const atMs = Date.now();
    const leader =
      leaderStatus === null
        ? null
        : { id: leaderStatus.id, name: leaderStatus.name, term: leaderStatus.term };
    this.noteLeader(leader, atMs);
    return {
      atMs,
      servedBy: own.name,
      members: rows,
      leader,
      leaderHistory: this.leaderHistory,
      followers: leaderStatus?.followers ?? [],
      requests: this.requestRates(statuses, atMs),
      watchers: sum(statuses, (s) => s.watchers),
      slowWatchers: sum(statuses, (s) => s.slowWatchers),
      pendingEvents: sum(statuses, (s) => s.pendingEvents),
      leases: leaderStatus?.leases ?? own.leases,
      alarms: [...new Set(statuses.flatMap((s) => s.alarms))],
      events: mergeEvents(statuses),
    };
  }

  private async fetchMember(info: MemberInfo): Promise<MemberStatus | null> {
    for (const url of info.metricsUrls) {
      try {
        return await this.fetcher(url);
      } catch {
        // Unreachable at this URL (down, paused, partitioned): try the next, else show it as down.
      }
    }
    return null;
  }

  private noteLeader(leader: ClusterSnapshot['leader'], atMs: number): void {
    if (leader === null) return;
    const last = this.leaderHistory[this.leaderHistory.length - 1];
    if (last !== undefined && last.name === leader.name && last.term === leader.term) return;
    this.leaderHistory.push({ atMs, name: leader.name, term: leader.term });
    if (this.leaderHistory.length > LEADER_HISTORY_MAX) this.leaderHistory.shift();
  }

  /** Requests per second and latency percentiles since the previous poll, over reachable members. */
  private requestRates(statuses: readonly MemberStatus[], atMs: number): ClusterSnapshot['requests'] {
    const totals = sumTotals(statuses.map((s) => s.requests));
    const previous = this.previous;
    this.previous = { atMs, totals };
    const none = { perSecond: 0, p50Ms: null, p90Ms: null, p99Ms: null };
    // A member that went away or restarted makes totals drop: skip that interval.
    if (previous === null || totals.count < previous.totals.count || atMs <= previous.atMs) return none;
    const count = totals.count - previous.totals.count;
    const delta = totals.buckets.map((b, i) => b - (previous.totals.buckets[i] ?? 0));
    const q = (p: number) => quantileMs(p, delta, this.bucketBoundsSeconds, count);
    return {
      perSecond: (count * 1000) / (atMs - previous.atMs),
      p50Ms: q(0.5),
      p90Ms: q(0.9),
      p99Ms: q(0.99),
    };
  }
}

function memberInfoOf(status: MemberStatus): MemberInfo {
  return { id: status.id, name: status.name, clientUrls: [], metricsUrls: [], isLearner: false };
}

function rowOf(info: MemberInfo, status: MemberStatus | undefined): MemberRow {
  if (status === undefined) {
    return {
      id: info.id,
      name: info.name || info.id,
      reachable: false,
      role: 'unreachable',
      term: null,
      commitIndex: null,
      appliedIndex: null,
      healthy: false,
      isLearner: info.isLearner,
    };
  }
  return {
    id: status.id,
    name: status.name,
    reachable: true,
    role: info.isLearner && status.role === 'follower' ? 'learner' : status.role,
    term: status.term,
    commitIndex: status.commitIndex,
    appliedIndex: status.appliedIndex,
    healthy: status.healthy,
    isLearner: info.isLearner,
  };
}

/** The member that says it leads, in the highest term (a deposed leader may not know yet). */
function pickLeader(statuses: readonly MemberStatus[]): MemberStatus | null {
  let best: MemberStatus | null = null;
  for (const s of statuses) if (s.role === 'leader' && (best === null || s.term > best.term)) best = s;
  return best;
}

function sum(statuses: readonly MemberStatus[], read: (s: MemberStatus) => number): number {
  return statuses.reduce((total, s) => total + read(s), 0);
}

function sumTotals(all: readonly RequestTotals[]): RequestTotals {
  const buckets: number[] = [];
  let count = 0;
  for (const totals of all) {
    count += totals.count;
    totals.buckets.forEach((b, i) => {
      buckets[i] = (buckets[i] ?? 0) + b;
    });
  }
  return { count, buckets };
}

/** histogram_quantile: linear interpolation inside the bucket holding the p-th observation. */
export function quantileMs(
  p: number,
  cumulative: readonly number[],
  boundsSeconds: readonly number[],
  count: number,
): number | null {
  if (count <= 0) return null;
  const rank = p * count;
  for (let i = 0; i < boundsSeconds.length; i++) {
    if ((cumulative[i] ?? 0) >= rank) {
      const lowerBound = i === 0 ? 0 : boundsSeconds[i - 1];
      const lowerCount = i === 0 ? 0 : (cumulative[i - 1] ?? 0);
      const inBucket = (cumulative[i] ?? 0) - lowerCount;
      const fraction = inBucket > 0 ? (rank - lowerCount) / inBucket : 1;
      return (lowerBound + (boundsSeconds[i] - lowerBound) * fraction) * 1000;
    }
  }
  // Beyond the last finite bucket: report its bound, as Prometheus does.
  return boundsSeconds[boundsSeconds.length - 1] * 1000;
}

/** Every member's recent events, duplicates (same member, time and text) removed, newest first. */
function mergeEvents(statuses: readonly MemberStatus[]): ClusterEvent[] {
  const seen = new Set<string>();
  const merged: ClusterEvent[] = [];
  for (const status of statuses) {
    for (const event of status.events) {
      const key = `${event.member}|${event.atMs}|${event.text}`;
      if (seen.has(key)) continue;
      seen.add(key);
      merged.push(event);
    }
  }
  merged.sort((a, b) => b.atMs - a.atMs);
  return merged.slice(0, EVENTS_SHOWN_MAX);
}
