// The Prometheus metrics of one member, in a Registry of its own (tests run several members in one
// process, so the global registry would mix them). Conventions: `flotilla_` prefix, base units
// (seconds, bytes), `_total` on counters.
//
// Two kinds of metric, on purpose:
// - gauges that mirror state the node already keeps (term, indices, lag, sizes, watcher counts)
//   are computed when Prometheus scrapes, through collect callbacks reading a MetricsSource, so
//   the hot path does no work for them at all;
// - counters and histograms of events (commits, fsyncs, requests) are updated where the event
//   happens, through labelled children created once and kept (no label lookup per operation).

import {
  type Counter,
  collectDefaultMetrics,
  exponentialBuckets,
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry,
} from 'prom-client';

/** A follower as the leader sees it (empty on followers). */
export interface FollowerView {
  /** Member name, or its hex id while the name is not yet published. */
  readonly name: string;
  readonly matchIndex: number;
  readonly lagEntries: number;
  readonly lagSeconds: number;
}

export interface WatchView {
  readonly streams: number;
  readonly watchers: number;
  /** Watchers moved to the unsynced group because they could not keep up (or are catching up). */
  readonly slowWatchers: number;
  readonly pendingEvents: number;
}

/** What the node exposes for collect-on-scrape gauges. Every method must be cheap and pure. */
export interface MetricsSource {
  term(): number;
  role(): string;
  hasLeader(): boolean;
  commitIndex(): number;
  appliedIndex(): number;
  pendingProposals(): number;
  followers(): readonly FollowerView[];
  walBytes(): number;
  walSegments(): number;
  dbSizeBytes(): number;
  dbSizeInUseBytes(): number;
  watches(): WatchView;
  activeLeases(): number;
}

export const ROLES = ['follower', 'pre-candidate', 'candidate', 'leader'] as const;

/** 1 ms … ~16 s: fsyncs on a loaded disk reach seconds (etcd uses 1 ms · 2^n too). */
const FSYNC_BUCKETS_SECONDS = exponentialBuckets(0.001, 2, 15);
/** 0.25 ms … ~8 s for client requests. */
export const REQUEST_BUCKETS_SECONDS = exponentialBuckets(0.00025, 2, 16);
/** 1 ms … ~65 s for compaction and defragmentation. */
const MAINTENANCE_BUCKETS_SECONDS = exponentialBuckets(0.001, 2, 17);

export class NodeMetrics {
  readonly registry = new Registry();
  private source: MetricsSource | null = null;

  readonly leaderChanges: Counter;
  readonly proposalsCommitted: Counter;
  readonly proposalsFailed: Counter;
  readonly snapshotsSent: Counter<'outcome'>;
  readonly snapshotsReceived: Counter;
  readonly leasesExpired: Counter;
  readonly fsyncSeconds: PromHistogram;
  readonly compactionSeconds: PromHistogram;
  readonly defragSeconds: PromHistogram;
  readonly requests: Counter<'service' | 'method' | 'code'>;
  readonly requestSeconds: PromHistogram<'service' | 'method' | 'code'>;

  constructor(options: { readonly processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const counter = <L extends string = string>(name: string, help: string, labelNames: L[] = []) =>
      new PromCounter<L>({ name, help, labelNames, registers });
    const histogram = <L extends string = string>(
      name: string,
      help: string,
      buckets: number[],
      labelNames: L[] = [],
    ) => new PromHistogram<L>({ name, help, buckets, labelNames, registers });

    this.raftGauges();
    this.leaderChanges = counter('flotilla_raft_leader_changes_total', 'Leader changes seen by this member.');
    this.proposalsCommitted = counter(
      'flotilla_raft_proposals_committed_total',
      'Raft entries committed and applied on this member.',
    );
    this.proposalsFailed = counter(
      'flotilla_raft_proposals_failed_total',
      'Proposals from this member that were refused, timed out or dropped.',
    );
    this.snapshotsSent = counter('flotilla_raft_snapshots_sent_total', 'Snapshots streamed to followers.', [
      'outcome',
    ]);
    this.snapshotsReceived = counter(
      'flotilla_raft_snapshots_received_total',
      'Snapshots received from a leader and installed.',
    );
    this.fsyncSeconds = histogram(
      'flotilla_wal_fsync_duration_seconds',
      'Latency of WAL fsyncs (one per Ready batch: group commit).',
      FSYNC_BUCKETS_SECONDS,
    );
    this.compactionSeconds = histogram(
      'flotilla_mvcc_compaction_duration_seconds',
      'Time to apply the batch holding a compaction.',
      MAINTENANCE_BUCKETS_SECONDS,
    );
    this.defragSeconds = histogram(
      'flotilla_db_defrag_duration_seconds',
      'Time spent in Maintenance.Defragment.',
      MAINTENANCE_BUCKETS_SECONDS,
    );
    this.storageGauges();
    this.requests = counter(
      'flotilla_grpc_requests_total',
      'Unary client requests handled, by RPC and code.',
      ['service', 'method', 'code'],
    );
    this.requestSeconds = histogram(
      'flotilla_grpc_request_duration_seconds',
      'Latency of unary client requests, by RPC and code.',
      REQUEST_BUCKETS_SECONDS,
      ['service', 'method', 'code'],
    );
    this.watchAndLeaseGauges();
    this.leasesExpired = counter(
      'flotilla_lease_expired_total',
      'Leases the leader found expired and revoked.',
    );
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Connects the collect-on-scrape gauges to the running node. */
  attach(source: MetricsSource): void {
    this.source = source;
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Client requests so far, all RPCs and codes summed: count and cumulative latency buckets. */
  async requestTotals(): Promise<{ count: number; buckets: number[] }> {
    const data = await this.requestSeconds.get();
    const buckets: number[] = REQUEST_BUCKETS_SECONDS.map(() => 0);
    let count = 0;
    for (const value of data.values) {
      if (value.metricName?.endsWith('_count')) count += value.value;
      if (!value.metricName?.endsWith('_bucket')) continue;
      const le = (value.labels as Record<string, string | number | undefined>).le;
      const index = REQUEST_BUCKETS_SECONDS.indexOf(Number(le));
      if (index >= 0) buckets[index] += value.value;
    }
    return { count, buckets };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A gauge whose value is read from the source at scrape time. */
  private gauge(name: string, help: string, read: (source: MetricsSource) => number): void {
    const metrics = this;
    new PromGauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        if (metrics.source !== null) this.set(read(metrics.source));
      },
    });
  }

  /** A gauge with one series per follower, rebuilt at every scrape so departed followers vanish. */
  private followerGauge(name: string, help: string, read: (follower: FollowerView) => number): void {
    const metrics = this;
    new PromGauge({
      name,
      help,
      labelNames: ['follower'],
      registers: [this.registry],
      collect() {
        this.reset();
        if (metrics.source === null) return;
        for (const follower of metrics.source.followers())
          this.set({ follower: follower.name }, read(follower));
      },
    });
  }

  private raftGauges(): void {
    this.gauge('flotilla_raft_term', 'Current Raft term.', (s) => s.term());
    this.gauge('flotilla_raft_has_leader', '1 if this member knows a leader.', (s) =>
      s.hasLeader() ? 1 : 0,
    );
    const metrics = this;
    new PromGauge({
      name: 'flotilla_raft_role',
      help: 'Raft role of this member: 1 on the current role, 0 on the others.',
      labelNames: ['role'],
      registers: [this.registry],
      collect() {
        if (metrics.source === null) return;
        const role = metrics.source.role();
        for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
      },
    });
    this.gauge('flotilla_raft_commit_index', 'Highest log index known committed.', (s) => s.commitIndex());
    this.gauge('flotilla_raft_applied_index', 'Highest log index applied here.', (s) => s.appliedIndex());
    this.gauge('flotilla_raft_proposals_pending', 'Proposals from this member waiting to be applied.', (s) =>
      s.pendingProposals(),
    );
    this.followerGauge(
      'flotilla_raft_follower_match_index',
      'Leader only: highest index known replicated on each follower.',
      (f) => f.matchIndex,
    );
    this.followerGauge(
      'flotilla_raft_replication_lag_entries',
      "Leader only: entries in the leader's log that each follower has not acknowledged.",
      (f) => f.lagEntries,
    );
    this.followerGauge(
      'flotilla_raft_replication_lag_seconds',
      'Leader only: age of the oldest entry each follower has not acknowledged (0 when caught up).',
      (f) => f.lagSeconds,
    );
  }

  private storageGauges(): void {
    const metrics = this;
    new PromCounter({
      name: 'flotilla_wal_written_bytes_total',
      help: 'WAL record bytes made durable since this member started.',
      registers: [this.registry],
      collect() {
        // Mirrors the WAL's own running total: set, not added to, at each scrape.
        if (metrics.source === null) return;
        this.reset();
        this.inc(metrics.source.walBytes());
      },
    });
    this.gauge('flotilla_wal_segments', 'Live WAL segment files.', (s) => s.walSegments());
    this.gauge('flotilla_db_total_size_bytes', 'Size of the LMDB data file.', (s) => s.dbSizeBytes());
    this.gauge('flotilla_db_in_use_size_bytes', 'LMDB bytes in use (quota basis).', (s) =>
      s.dbSizeInUseBytes(),
    );
  }

  private watchAndLeaseGauges(): void {
    this.gauge('flotilla_watch_streams', 'Open Watch streams.', (s) => s.watches().streams);
    this.gauge('flotilla_watch_watchers', 'Watchers on this member.', (s) => s.watches().watchers);
    this.gauge(
      'flotilla_watch_slow_watchers',
      'Watchers in the unsynced group (too slow, or catching up from history).',
      (s) => s.watches().slowWatchers,
    );
    this.gauge(
      'flotilla_watch_pending_events',
      'Events queued to watchers but not yet sent.',
      (s) => s.watches().pendingEvents,
    );
    this.gauge('flotilla_lease_active', 'Leases granted and not yet revoked.', (s) => s.activeLeases());
  }
}
