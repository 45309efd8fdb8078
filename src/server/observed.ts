// The node's state as the metrics and the dashboard read it: small getters over what the node
// already keeps, evaluated when Prometheus scrapes or the dashboard polls (never on the hot path).

import type { MemberStatus } from '../observability/dashboard-state.js';
import { ALARM_NOSPACE_NAME, type HealthSource, health, readyz } from '../observability/health.js';
import type { FollowerView, MetricsSource, WatchView } from '../observability/metrics.js';
import { NONE } from '../raft/types.js';
import { hexId } from './ids.js';
import { ALARM_NOSPACE, type FlotillaNode } from './node.js';

export function memberName(node: FlotillaNode, id: bigint): string {
  return node.members.get(id)?.name || hexId(id);
}

/** Leader only: each follower's match index and lag in entries and in seconds; empty elsewhere. */
export function followerViews(node: FlotillaNode): FollowerView[] {
  const status = node.status();
  if (!node.isLeader()) return [];
  const nowMs = performance.now();
  const views: FollowerView[] = [];
  for (const [id, progress] of status.progress) {
    if (id === node.memberId) continue;
    views.push({
      name: memberName(node, id),
      matchIndex: progress.match,
      lagEntries: Math.max(0, status.lastIndex - progress.match),
      lagSeconds: node.observability.lagClock.lagSeconds(progress.match, status.lastIndex, nowMs),
    });
  }
  return views;
}

export function watchView(node: FlotillaNode): WatchView {
  const stats = node.watchHub.stats();
  return {
    streams: stats.streams,
    watchers: stats.synced + stats.unsynced,
    slowWatchers: stats.unsynced,
    pendingEvents: node.watchHub.pendingEvents(),
  };
}

export function metricsSource(node: FlotillaNode): MetricsSource {
  return {
    term: () => node.term(),
    role: () => node.status().role,
    hasLeader: () => node.status().lead !== NONE,
    commitIndex: () => node.status().commit,
    appliedIndex: () => node.status().applied,
    pendingProposals: () => node.pendingProposalCount(),
    followers: () => followerViews(node),
    walBytes: () => node.store.wal.stats.bytes,
    walSegments: () => node.store.wal.segmentNames().length,
    dbSizeBytes: () => node.dbSizeBytes(),
    dbSizeInUseBytes: () => node.sizeInUseBytes(),
    watches: () => watchView(node),
    activeLeases: () => node.lessor.size(),
  };
}

/** This member's own view, served at /api/status for the dashboard of any member. */
export async function memberStatus(node: FlotillaNode): Promise<MemberStatus> {
  const status = node.status();
  const watches = watchView(node);
  const source = healthSource(node);
  return {
    id: hexId(node.memberId),
    name: node.config.name,
    role: status.role,
    term: status.term,
    leader: status.lead === NONE ? '' : hexId(status.lead),
    commitIndex: status.commit,
    appliedIndex: status.applied,
    healthy: health(source).status === 200,
    ready: readyz(source).status === 200,
    dbSizeBytes: node.dbSizeBytes(),
    watchers: watches.watchers,
    slowWatchers: watches.slowWatchers,
    pendingEvents: watches.pendingEvents,
    leases: node.lessor.size(),
    alarms: source.activeAlarms(),
    followers: followerViews(node),
    requests: await node.observability.metrics.requestTotals(),
    members: node.members.list().map((m) => ({
      id: hexId(m.id),
      name: m.name,
      clientUrls: m.clientUrls,
      metricsUrls: m.metricsUrls ?? [],
      isLearner: m.isLearner,
    })),
    events: node.observability.events.list().slice(-EVENTS_PER_MEMBER_MAX),
  };
}

/** Events each member sends the dashboard per poll. */
const EVENTS_PER_MEMBER_MAX = 50;

export function healthSource(node: FlotillaNode): HealthSource {
  return {
    hasLeader: () => node.status().lead !== NONE,
    commitIndex: () => node.status().commit,
    appliedIndex: () => node.status().applied,
    activeAlarms: () => [
      ...new Set(node.alarmList().map((a) => (a.alarm === ALARM_NOSPACE ? ALARM_NOSPACE_NAME : 'CORRUPT'))),
    ],
  };
}
