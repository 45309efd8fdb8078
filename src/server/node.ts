// One Flotilla member: the Raft core driven by the Ready loop over the real WAL, the MVCC state
// machine, the member table, the peer transport, and the bookkeeping that turns client
// requests into proposals and linearizable reads.
//
// The Ready loop (raw-node.ts has the contract):
//   send leader messages ∥ persist (WAL append + one fsync: group commit) → send the messages
//   that promise durability → apply committed entries (MVCC, members) → answer waiting clients →
//   advance. It runs on the event loop, once per turn in which something happened, so every
//   request that arrived in that turn shares one fsync.

import { randomInt } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthError } from '../auth/errors.js';
import { JwtTokens } from '../auth/jwt-tokens.js';
import { deleteRangeNeeds, putNeeds, txnNeeds } from '../auth/needs.js';
import { type AuthOp, type AuthOutcome, AuthStore } from '../auth/store.js';
import type { TokenProvider } from '../auth/token-provider.js';
import { SimpleTokens } from '../auth/tokens.js';
import { Lessor } from '../lease/lessor.js';
import { checkDataFile } from '../mvcc/data-file.js';
import { type ApplyResult, MvccStore } from '../mvcc/store.js';
import type { ApplyEntry, MvccEvent } from '../mvcc/types.js';
import type { ClusterEventKind } from '../observability/events.js';
import { createLogger, type NodeLogger } from '../observability/logging.js';
import { NodeObservability } from '../observability/node-observability.js';
import { type ProposalTrace, ProposalTracing, type TracedEntry } from '../observability/proposal-tracing.js';
import { assert } from '../raft/assert.js';
import { ProposalRefusedError, RawNode, type Ready } from '../raft/raw-node.js';
import { SeededRng } from '../raft/rng.js';
import { decodeConfChange } from '../raft/tracker.js';
import {
  type ConfChange,
  ConfChangeType,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type Refusal,
  type RefusalReason,
  Role,
  type Snapshot,
} from '../raft/types.js';
import { NodeDisk } from '../storage/disk.js';
import { StateAttachments } from '../storage/snapshot-attachment.js';
import { SnapshotStore } from '../storage/snapshot-file.js';
import { WalLogStore } from '../storage/wal-log-store.js';
import type { TlsListenerOptions } from '../transport/tls-listener.js';
import { PeerTransport } from '../transport/transport.js';
import { WatchHub } from '../watch/hub.js';
import {
  ERR_LEADER_CHANGED,
  ERR_NO_SPACE,
  ERR_REQUEST_TOO_LARGE,
  ERR_TOO_MANY_REQUESTS,
  GrpcError,
  noLeader,
  Status,
  stopped,
  timedOut,
} from './api/errors.js';
import type { ServerConfig } from './config.js';
import { bootstrap, peerAddress, resolveIdentity } from './identity.js';
import { hexId } from './ids.js';
import { decodeMemberContext, MemberTable } from './members.js';
import { metricsSource } from './observed.js';
import { decodeProposal, encodeProposal, type ServerRequest } from './replicated.js';
import { RequestTable } from './request-table.js';
import { decodeSnapshotData, encodeSnapshotData, mvccOutOfLine, type SnapshotData } from './snapshot-data.js';
import {
  attachmentSink,
  mvccSnapshotSource,
  restoreFromSnapshotData,
  streamedSnapshotData,
} from './snapshot-transfer.js';
import { TestHooks } from './test-hooks.js';
import { clientTlsOptions, listenerTlsOptions, loadTlsMaterial, type TlsMaterial } from './tls.js';

/** How long a client waits for its write to apply or its read index before "request timed out". */
/** Read-index contexts are text ("<member hex>:<sequence>"); one codec pair for all of them. */
const TEXT_ENCODER = new TextEncoder();
const TEXT_DECODER = new TextDecoder();

/** Trace spans of one Ready's persist step (null when tracing is off). */
type PersistSpans = ReturnType<ProposalTracing['persistStart']>;

/** Hard-state records (commit index only) buffered without a sync before they are written out. */
const WAL_UNSYNCED_BUFFER_BYTES_MAX = 64 * 1024;
const REQUEST_TIMEOUT_MS = 7_000;
/** etcd's AlarmType NOSPACE. */
export const ALARM_NOSPACE = 1;
/** The storage size used for quota checks is re-measured at most this often. */
const QUOTA_MEASURE_INTERVAL_MS = 100;
/** How long a removed member's connection is kept so queued messages (its commit) still reach it. */
const REMOVED_PEER_GRACE_MS = 2_000;
/** How often the leader looks for expired leases and checkpoints due. */
const LEASE_SWEEP_INTERVAL_MS = 500;
/** Revokes proposed per sweep (the lessor also rate-limits them per second). */
const LEASE_REVOKES_PER_SWEEP_MAX = 500;

interface PendingWrite {
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (error: Error) => void;
  /** performance.now() past which the write is answered "request timed out". */
  readonly deadlineMs: number;
}

interface ReadWaiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export interface AppliedBatch {
  readonly events: readonly MvccEvent[];
  readonly revision: number;
}

export type { NodeLogger } from '../observability/logging.js';

/** JSON lines on stderr at info level, for callers without a member logger of their own. */
export const consoleLogger: NodeLogger = createLogger({ level: 'info' });

function peerListenTls(material: TlsMaterial | null): TlsListenerOptions {
  assert(
    material !== null,
    'an https:// --listen-peer-urls without --peer-cert-file passed config validation',
  );
  return listenerTlsOptions(material);
}

export class FlotillaNode {
  readonly memberId: NodeId;
  readonly clusterId: bigint;
  readonly members: MemberTable;
  private readonly raw: RawNode;
  readonly watchHub: WatchHub;
  readonly lessor: Lessor;
  /** Users, roles, permissions: replicated state, rebuilt from snapshot and log like the member table. */
  readonly auth = new AuthStore();
  /** Tokens issued by applied Authenticate entries: simple (the same on every member) or JWT. */
  readonly tokens: TokenProvider;
  /** Outcomes of auth ops proposed here, by request id, for proposeAuth() to pick up. */
  private readonly authOutcomes = new Map<number, AuthOutcome>();
  private leaseTimer: NodeJS.Timeout | null = null;
  /** Fault-lab hooks; null unless FLOTILLA_TEST_HOOKS is set. */
  private readonly hooks = TestHooks.fromEnvironment();
  private readonly pendingWrites = new RequestTable<PendingWrite>();
  private nextRequestId = 1;
  private readQueue: ReadWaiter[] = [];
  private readInFlight: { context: string; waiters: ReadWaiter[]; timer: NodeJS.Timeout } | null = null;
  private readSequence = 0;
  private appliedWaiters: { index: number; waiter: ReadWaiter }[] = [];
  private loopScheduled = false;
  private tickTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private published = false;
  private readonly appliedListeners: ((batch: AppliedBatch) => void)[] = [];
  private readonly leaderListeners: ((isLeader: boolean) => void)[] = [];
  leaderId: NodeId = NONE;
  readonly logger: NodeLogger;
  /** Spans of writes through Raft; null unless tracing is enabled (the one check on the hot path). */
  private readonly proposalTracing: ProposalTracing | null;

  private constructor(
    readonly config: ServerConfig,
    readonly store: WalLogStore,
    readonly mvcc: MvccStore,
    readonly transport: PeerTransport,
    readonly observability: NodeObservability,
    ids: { memberId: NodeId; clusterId: bigint },
    members: MemberTable,
    appliedIndex: number,
    /** MVCC states received from leaders (snapshot-transfer.ts), in the snapshot directory. */
    private readonly attachments: StateAttachments,
  ) {
    this.memberId = ids.memberId;
    this.clusterId = ids.clusterId;
    this.members = members;
    this.logger = observability.logger;
    this.proposalTracing = observability.tracing.enabled
      ? new ProposalTracing(observability.tracing, ids.memberId, config.name, tracedEntry)
      : null;
    this.raw = new RawNode({
      id: ids.memberId,
      logStore: store,
      rng: new SeededRng(randomInt(0, 2 ** 31)),
      applied: appliedIndex,
      electionTicks: Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs),
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      maxUncommittedBytes: 64 * 1024 * 1024,
    });
    this.watchHub = new WatchHub({
      store: mvcc,
      header: () => ({
        cluster_id: this.clusterId.toString(),
        member_id: this.memberId.toString(),
        raft_term: String(this.raw.raft.term),
      }),
      maxRequestBytes: config.maxRequestBytes,
      maxWatchersPerStream: config.maxWatchersPerStream,
      maxPendingEventsPerWatcher: config.maxPendingWatchEvents,
    });
    this.lessor = new Lessor({
      table: mvcc,
      clock: { now: () => performance.now() + (this.hooks?.state.clockOffsetMs ?? 0) },
      rng: new SeededRng(randomInt(0, 2 ** 31)),
      // etcd's minLeaseTTL: a lease must outlive a leader election.
      minTtlSeconds: Math.ceil((3 * config.electionTimeoutMs) / 2 / 1000),
    });
    this.lessor.rebuild();
    this.tokens =
      config.authToken.type === 'jwt'
        ? new JwtTokens(config.authToken)
        : new SimpleTokens(config.authTokenTtlSeconds * 1000);
    observability.logger.setTermSource(() => this.raw.raft.term);
  }

  /** Opens (or creates) the data dir, recovers, and starts the Raft loop and peer transport. */
  static async start(
    config: ServerConfig,
    observability: NodeObservability = new NodeObservability(config),
  ): Promise<FlotillaNode> {
    const logger = observability.logger;
    const memberDir = join(config.dataDir, 'member');
    mkdirSync(memberDir, { recursive: true });
    const peerTls = loadTlsMaterial(config.peerTls, 'peer-');
    const peerDial = clientTlsOptions(peerTls);
    const identity = await resolveIdentity(config, memberDir, logger, peerDial);
    const { memberId, clusterId } = identity;
    const disk = new NodeDisk();
    const snapshots = new SnapshotStore({ disk, dir: join(memberDir, 'snap') });
    const attachments = new StateAttachments(disk, join(memberDir, 'snap'));
    const store = WalLogStore.open({
      disk,
      walDir: join(memberDir, 'wal'),
      snapshots,
      clusterId,
      groupId: 0,
    });
    if (store.lastIndex() === 0 && store.snapshot().metadata.index === 0 && identity.bootstrap !== null) {
      bootstrap(store, identity.bootstrap);
      logger.info('bootstrapped a new cluster', {
        member: hexId(memberId),
        cluster: hexId(clusterId),
        members: identity.bootstrap.map((m) => m.name),
      });
    }
    const snapshot = store.snapshot();
    const data = decodeSnapshotData(snapshot.data);
    // LMDB maps the file: a truncated one would fault (SIGBUS) on first read, not throw.
    checkDataFile(join(memberDir, 'db', 'data.mdb'));
    const mvcc = MvccStore.open({ path: join(memberDir, 'db'), maxTxnOps: config.maxTxnOps });
    checkAppliedWithinLog(
      join(memberDir, 'db', 'data.mdb'),
      join(memberDir, 'wal'),
      mvcc.appliedIndex(),
      store,
      data.mvccFile !== undefined,
    );
    // The WAL is the source of durability; LMDB may lag it. If it lags even the snapshot (the log
    // before it is gone), rebuild the store from the snapshot.
    if (mvcc.appliedIndex() < snapshot.metadata.index) restoreFromSnapshotData(mvcc, attachments, data);
    // Only the attachment the snapshot names can still be needed (see maybeSnapshot).
    attachments.removeThrough(Number.POSITIVE_INFINITY, data.mvccFile ?? null);
    if (data.mvccInDatabase === true && mvcc.appliedIndex() < snapshot.metadata.index) {
      throw new Error(
        `${join(memberDir, 'db', 'data.mdb')}: applied index ${mvcc.appliedIndex()} is behind the snapshot at ` +
          `${snapshot.metadata.index} whose state it should hold; the data directory is damaged — ` +
          'remove this member and add it back so it catches up from the leader',
      );
    }
    // A member that has just joined has no snapshot yet: it knows the others from discovery
    // until the leader's log or snapshot tells it the full table.
    const members =
      snapshot.metadata.index > 0 ? MemberTable.fromJSON(data.members) : new MemberTable(identity.discovered);
    const peer = peerAddress(config.listenPeerUrls[0].href);
    const transport = new PeerTransport({
      selfId: memberId,
      clusterId,
      listenHost: peer.host,
      listenPort: peer.port,
      onMessage: (m: Message) => node.receive(m),
      onPeerUnreachable: (id: NodeId) => node.raw.reportUnreachable(id),
      onSnapshotSent: (id: NodeId, failed: boolean) => node.snapshotSent(id, failed),
      receiveSnapshot: (m: Message) => attachmentSink(m, attachments),
      clusterInfo: () => ({
        clusterId,
        members: node.members.list().map((m) => ({ id: m.id, peerUrls: m.peerUrls })),
      }),
      tls: { listen: peer.secure ? peerListenTls(peerTls) : null, dial: peerDial },
      // Refused handshakes (TLS or hello) are warnings an operator must see in the member's log;
      // per-attempt reconnect chatter is debug.
      log: (level, message) => (level === 'warn' ? logger.warn(message) : logger.debug(message)),
    });
    const node: FlotillaNode = new FlotillaNode(
      config,
      store,
      mvcc,
      transport,
      observability,
      { memberId, clusterId },
      members,
      snapshot.metadata.index,
      attachments,
    );
    node.restoreAuth(data);
    observability.metrics.attach(metricsSource(node));
    await transport.start();
    node.connectPeers();
    node.scheduleTick();
    node.leaseTimer = setInterval(() => node.sweepLeases(), LEASE_SWEEP_INTERVAL_MS);
    node.scheduleLoop();
    return node;
  }

  // ---- inputs ----------------------------------------------------------------------------------

  private receive(m: Message): void {
    if (this.stopping) return;
    this.raw.step(m);
    this.scheduleLoop();
  }

  private tick(): void {
    this.raw.tick();
    this.expireWrites();
    this.scheduleLoop();
  }

  /**
   * Answers writes pending past their deadline. One sweep per tick instead of a timer per write
   * (two timer-list operations per request on the hottest path): the table is in request order and
   * every write gets the same timeout, so expired writes are at its front.
   */
  private expireWrites(): void {
    const now = performance.now();
    for (
      let requestId = this.pendingWrites.oldestId();
      requestId >= 0;
      requestId = this.pendingWrites.oldestId()
    ) {
      const pending = this.pendingWrites.get(requestId)!;
      if (pending.deadlineMs > now) return;
      this.pendingWrites.delete(requestId);
      this.observability.metrics.proposalsFailed.inc();
      pending.reject(timedOut());
    }
  }

  /** Ticks every heartbeat interval (stretched by the fault lab's slow-clock hook). */
  private scheduleTick(): void {
    const slowdown = this.hooks?.state.tickSlowdown ?? 1;
    this.tickTimer = setTimeout(() => {
      if (this.stopping) return;
      this.tick();
      this.scheduleTick();
    }, this.config.heartbeatIntervalMs * slowdown);
  }

  /**
   * Replicates `request`; resolves with its result once applied on this member. `caller`: the
   * user a KV write acts for while auth is enabled, whose permissions are checked again at apply.
   */
  propose(request: ServerRequest, caller: string | null = null): Promise<ApplyResult> {
    return this.submit(request, caller).applied;
  }

  /** Replicates an auth op; resolves with what applying it produced (an error, or a token). */
  async proposeAuth(op: AuthOp): Promise<AuthOutcome> {
    const { requestId, applied } = this.submit({ type: 'auth', op }, null);
    await applied;
    const outcome = this.authOutcomes.get(requestId);
    this.authOutcomes.delete(requestId);
    if (outcome === undefined) throw new Error(`auth proposal ${requestId} applied without an outcome`);
    return outcome;
  }

  private submit(
    request: ServerRequest,
    caller: string | null,
  ): { requestId: number; applied: Promise<ApplyResult> } {
    const requestId = this.nextRequestId++;
    if (this.stopping) return { requestId, applied: Promise.reject(stopped()) };
    const trace = this.proposalTracing?.startProposal(requestId, this.forwardTarget()) ?? null;
    const data = encodeProposal({
      requestId,
      origin: this.memberId,
      request,
      ...(trace === null ? {} : { traceparent: trace.traceparent }),
      ...(caller === null ? {} : { caller }),
    });
    // etcd's check on the encoded request, for sizes gRPC's own limit (plus overhead) let through.
    if (data.byteLength > this.config.maxRequestBytes) {
      const error = new GrpcError(Status.INVALID_ARGUMENT, ERR_REQUEST_TOO_LARGE);
      trace?.finish(error);
      return { requestId, applied: Promise.reject(error) };
    }
    const promise = new Promise<ApplyResult>((resolve, reject) => {
      try {
        this.raw.propose(data);
      } catch (error) {
        this.observability.metrics.proposalsFailed.inc();
        reject(error instanceof ProposalRefusedError ? noLeader() : error);
        return;
      }
      this.pendingWrites.set(requestId, {
        resolve,
        reject,
        deadlineMs: performance.now() + REQUEST_TIMEOUT_MS,
      });
      if (this.config.unsafe === 'early-ack') {
        // Deliberately wrong (fault-lab self-test): report success before the write commits,
        // with a made-up result, so writes lost in a leader change look acknowledged.
        resolve(earlyAck(request, this.mvcc.currentRevision() + 1));
      }
      this.scheduleLoop();
    });
    return { requestId, applied: trace === null ? promise : traceOutcome(promise, trace) };
  }

  /** The leader's name when a proposal made here must be forwarded to it; null when this member leads. */
  private forwardTarget(): string | null {
    if (this.isLeader()) return null;
    return this.members.get(this.leaderId)?.name || hexId(this.leaderId);
  }

  /** Proposes a membership change; resolves once it is applied here. */
  proposeConfChange(change: ConfChange): Promise<void> {
    if (this.stopping) return Promise.reject(stopped());
    return new Promise<void>((resolve, reject) => {
      try {
        this.raw.proposeConfChange(change);
      } catch (error) {
        reject(error instanceof ProposalRefusedError ? noLeader() : error);
        return;
      }
      const timer = setTimeout(() => {
        this.confChangeWaiters = this.confChangeWaiters.filter((w) => w.resolve !== resolve);
        reject(timedOut());
      }, REQUEST_TIMEOUT_MS);
      this.confChangeWaiters.push({ nodeId: change.nodeId, type: change.type, resolve, reject, timer });
      this.scheduleLoop();
    });
  }

  private confChangeWaiters: {
    nodeId: NodeId;
    type: ConfChangeType;
    resolve: () => void;
    reject: (e: Error) => void;
    timer: NodeJS.Timeout;
  }[] = [];

  /**
   * Resolves once a local read reflects every write acknowledged before the call (ReadIndex,
   * thesis §6.4). Reads arriving while one ReadIndex is in flight share the next one.
   */
  linearizableRead(): Promise<void> {
    if (this.stopping) return Promise.reject(stopped());
    return new Promise<void>((resolve, reject) => {
      this.readQueue.push({ resolve, reject });
      this.issueReadIndex();
    });
  }

  private issueReadIndex(): void {
    if (this.readInFlight !== null || this.readQueue.length === 0) return;
    const waiters = this.readQueue;
    this.readQueue = [];
    // Read contexts must be unique across the cluster: the leader matches acknowledgements by
    // context alone (as etcd does), so two members' "read 5" would be taken for one request.
    const context = `${this.memberId.toString(16)}:${++this.readSequence}`;
    try {
      this.raw.readIndex(TEXT_ENCODER.encode(context));
    } catch (error) {
      const reason = error instanceof ProposalRefusedError ? noLeader() : (error as Error);
      for (const waiter of waiters) waiter.reject(reason);
      return;
    }
    const timer = setTimeout(() => this.finishRead(context, timedOut()), REQUEST_TIMEOUT_MS);
    this.readInFlight = { context, waiters, timer };
    this.scheduleLoop();
  }

  private finishRead(context: string, outcome: number | Error): void {
    const read = this.readInFlight;
    if (read === null || read.context !== context) return;
    clearTimeout(read.timer);
    this.readInFlight = null;
    if (outcome instanceof Error) {
      for (const waiter of read.waiters) waiter.reject(outcome);
    } else {
      for (const waiter of read.waiters) this.waitForApplied(outcome, waiter);
    }
    this.issueReadIndex();
  }

  private waitForApplied(index: number, waiter: ReadWaiter): void {
    if (this.mvcc.appliedIndex() >= index) waiter.resolve();
    else this.appliedWaiters.push({ index, waiter });
  }

  // ---- the Ready loop --------------------------------------------------------------------------

  private scheduleLoop(): void {
    if (this.loopScheduled || this.stopping) return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      this.runReadyLoop();
    });
  }

  /**
   * The Ready loop: persist, send, apply, advance. On the leader, a Ready that needs an fsync is
   * finished in the fsync's callback: the fsync runs on a worker thread while this thread keeps
   * reading requests and peer messages, which Raft collects for the next Ready (a natural group
   * commit). Other members fsync in place (see below).
   * No message leaves between ready() and advance() except this Ready's own, so followers never
   * learn a commit index covering entries the leader has not yet made durable.
   */
  private runReadyLoop(): void {
    while (!this.stopping && this.persisting === null && this.raw.hasReady()) {
      const rd = this.raw.ready();
      if (rd.softState !== null) this.onSoftState(rd.softState.leader, rd.softState.role);
      for (const m of rd.messages) this.send(m);
      if (rd.snapshot !== null) this.installSnapshot(rd.snapshot);
      let persistSpans: PersistSpans = null;
      if (rd.hardState !== null || rd.entries.length > 0) {
        persistSpans = this.proposalTracing?.persistStart(rd.entries, this.isLeader()) ?? null;
        this.store.save(rd.hardState, rd.entries);
        if (rd.mustSync) {
          if (!this.isLeader()) {
            // A follower's (or candidate's) answer waits for its fsync anyway, and it has nothing
            // to send meanwhile: syncing here saves the two thread wake-ups of a worker-thread
            // fsync. With the leader's early flush below, sequential puts measured 0.1–0.25 ms
            // lower at the median and ~15% less server CPU per put.
            this.persistNow(rd, persistSpans);
            continue;
          }
          // The leader's appends leave before its own WAL write and fsync (Raft thesis §10.2.1),
          // so waking the fsync's worker thread cannot hold them up; the fsync runs on that
          // thread while this one reads the next requests, which form the next batch.
          if (rd.messages.length > 0) this.transport.flush();
          this.persistAsync(rd, persistSpans);
          return;
        }
        // A commit-index-only change stays buffered until the next fsync writes it: losing it in
        // a crash is harmless (the leader tells the commit index again), and skipping the write
        // keeps a syscall off the path between a quorum's acknowledgement and the client's answer.
        if (this.store.wal.bufferedBytes() >= WAL_UNSYNCED_BUFFER_BYTES_MAX) this.store.wal.flushBuffered();
      }
      this.finishReady(rd, persistSpans);
    }
    this.maybePublish();
  }

  /** The fsync of a Ready in flight; null when none. stop() waits for it. */
  private persisting: Promise<void> | null = null;
  /** WAL work that waited for the fsync in flight (recording a compaction snapshot). */
  private afterPersist: (() => void) | null = null;

  private persistNow(rd: Ready, persistSpans: PersistSpans): void {
    this.hooks?.beforeFsync();
    const latencyMs = this.store.sync();
    this.observability.metrics.fsyncSeconds.observe(latencyMs / 1000);
    this.finishReady(rd, persistSpans);
  }

  private persistAsync(rd: Ready, persistSpans: PersistSpans): void {
    this.hooks?.beforeFsync();
    this.persisting = new Promise<void>((resolve) => {
      this.store.syncAsync((error, latencyMs) => {
        this.persisting = null;
        resolve();
        const after = this.afterPersist;
        this.afterPersist = null;
        // A failed fsync may have dropped dirty pages: nothing written since can be trusted, so
        // the member stops here, as etcd does (the process exits with the error).
        if (error !== null) throw error;
        if (this.stopping) return;
        after?.();
        this.observability.metrics.fsyncSeconds.observe(latencyMs / 1000);
        this.finishReady(rd, persistSpans);
        this.runReadyLoop();
      });
    });
  }

  /** The rest of a Ready once its entries and hard state are durable. */
  private finishReady(rd: Ready, persistSpans: PersistSpans): void {
    if (rd.hardState !== null || rd.entries.length > 0) {
      this.proposalTracing?.persistEnd(persistSpans);
      if (rd.entries.length > 0 && this.isLeader()) {
        this.observability.lagClock.appended(rd.entries[rd.entries.length - 1].index, performance.now());
      }
    }
    for (const m of rd.messagesAfterPersist) this.transport.send(m);
    if (rd.committedEntries.length > 0) {
      const applySpans = this.proposalTracing?.applyStart(rd.committedEntries) ?? null;
      this.apply(rd.committedEntries);
      this.proposalTracing?.applyEnd(applySpans);
      for (const entry of rd.committedEntries) this.bytesSinceSnapshot += entry.data.byteLength;
      this.observability.metrics.proposalsCommitted.inc(rd.committedEntries.length);
    }
    for (const state of rd.readStates) this.finishRead(TEXT_DECODER.decode(state.context), state.index);
    for (const refusal of rd.refusals) this.onRefusal(refusal);
    this.raw.advance(rd);
    this.maybeSnapshot();
  }

  private onSoftState(leader: NodeId, role: Role): void {
    const wasLeader = this.leaderId === this.memberId;
    const previousLeader = this.leaderId;
    this.leaderId = leader;
    const isLeader = role === Role.Leader;
    if (leader !== NONE && leader !== previousLeader) {
      this.observability.metrics.leaderChanges.inc();
      const name = this.members.get(leader)?.name || hexId(leader);
      this.recordEvent('leader', `${name} leads (term ${this.term()})`);
      this.logger.info('leader known', { member: hexId(this.memberId), leader: hexId(leader) });
    } else if (leader === NONE && previousLeader !== NONE) {
      this.recordEvent(
        'leader',
        `lost leader ${this.members.get(previousLeader)?.name || hexId(previousLeader)}`,
      );
    }
    if (wasLeader === isLeader) return;
    if (isLeader) this.observability.lagClock.reset(this.raw.raft.log.lastIndex(), performance.now());
    else this.proposalTracing?.abandonReplication();
    // Only the leader decides lease expiry; a new leader restarts the clocks from the
    // checkpointed remaining TTLs, extended by an election timeout (etcd's Promote).
    if (isLeader) this.lessor.promote(performance.now(), this.config.electionTimeoutMs);
    else this.lessor.demote();
    for (const listener of this.leaderListeners) listener(isLeader);
  }

  /** Leader only: propose revokes for expired leases and checkpoints of remaining TTLs. */
  private sweepLeases(): void {
    if (!this.isLeader() || this.stopping) return;
    const now = performance.now();
    for (const id of this.lessor.expiredLeases(now, LEASE_REVOKES_PER_SWEEP_MAX)) {
      this.observability.metrics.leasesExpired.inc();
      this.propose({ type: 'leaseRevoke', leaseId: id }).catch(() => {
        // The lessor offers an unrevoked expired lease again after a retry interval.
      });
    }
    const checkpoints = this.lessor.checkpointsDue(now);
    if (checkpoints.length > 0) {
      this.propose({ type: 'leaseCheckpoint', leaseCheckpoint: { checkpoints } }).catch(() => {
        // A lost checkpoint only means a new leader restarts that lease's TTL from an older value.
      });
    }
  }

  private onRefusal(refusal: Refusal): void {
    if (refusal.kind === 'read') {
      this.finishRead(TEXT_DECODER.decode(refusal.context), noLeader());
      return;
    }
    const refused = decodeRefused(refusal.context);
    if (refused === null) return;
    if ('nodeId' in refused) {
      this.refuseConfChange(refused, refusal.reason);
      return;
    }
    const proposal = refused;
    const pending = this.pendingWrites.get(proposal.requestId);
    if (pending === undefined || proposal.origin !== this.memberId) return;
    this.pendingWrites.delete(proposal.requestId);
    this.observability.metrics.proposalsFailed.inc();
    pending.reject(refusalError(refusal.reason));
  }

  private refuseConfChange(change: ConfChange, reason: RefusalReason): void {
    const refused = this.confChangeWaiters.filter(
      (w) => w.nodeId === change.nodeId && w.type === change.type,
    );
    this.confChangeWaiters = this.confChangeWaiters.filter((w) => !refused.includes(w));
    for (const waiter of refused) {
      clearTimeout(waiter.timer);
      waiter.reject(reason === 'conf-change-pending' ? new ConfChangePendingError() : refusalError(reason));
    }
  }

  /** Applies committed entries in order: one LMDB transaction for the whole batch. */
  private apply(entries: readonly Entry[]): void {
    const batch: ApplyEntry[] = [];
    const origins: ({ requestId: number } | null)[] = [];
    const authOutcomes: (AuthOutcome | null)[] = [];
    const refusals: (AuthError | null)[] = [];
    for (const entry of entries) {
      if (entry.type === EntryType.ConfChange) {
        this.applyConfChange(entry);
        batch.push({ index: entry.index, request: { type: 'noop' } });
        origins.push(null);
        continue;
      }
      if (entry.data.byteLength === 0) {
        batch.push({ index: entry.index, request: { type: 'noop' } });
        origins.push(null);
        continue;
      }
      const proposal = decodeProposal(entry.data);
      const request = proposal.request;
      if (request.type === 'publish') {
        this.members.setClientUrls(proposal.origin, request.clientUrls, request.name, request.metricsUrls);
        batch.push({ index: entry.index, request: { type: 'noop' } });
      } else if (request.type === 'alarm') {
        this.applyAlarm(request.action, request.memberId, request.alarm);
        batch.push({ index: entry.index, request: { type: 'noop' } });
      } else if (request.type === 'memberUpdate') {
        this.members.setPeerUrls(request.id, request.peerUrls);
        this.connectPeers();
        batch.push({ index: entry.index, request: { type: 'noop' } });
      } else if (request.type === 'auth') {
        authOutcomes[batch.length] = this.applyAuth(request.op, entry.index);
        batch.push({ index: entry.index, request: { type: 'noop' } });
      } else {
        const refusal =
          proposal.caller === undefined ? null : this.applyTimeRefusal(proposal.caller, request);
        if (refusal !== null) refusals[batch.length] = refusal;
        batch.push({ index: entry.index, request: refusal === null ? request : { type: 'noop' } });
      }
      origins.push(proposal.origin === this.memberId ? { requestId: proposal.requestId } : null);
    }
    const compactionStartedAt = batch.some((e) => e.request.type === 'compact') ? performance.now() : -1;
    const results = this.mvcc.applyBatch(batch);
    if (compactionStartedAt >= 0) {
      this.observability.metrics.compactionSeconds.observe((performance.now() - compactionStartedAt) / 1000);
    }
    const events: MvccEvent[] = [];
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      this.lessor.applied(batch[i].request, result);
      if (result.status === 'applied') for (const event of result.events) events.push(event);
      const origin = origins[i];
      if (origin === null) continue;
      const pending = this.pendingWrites.get(origin.requestId);
      if (pending === undefined) continue;
      this.pendingWrites.delete(origin.requestId);
      const authOutcome = authOutcomes[i];
      if (authOutcome !== undefined && authOutcome !== null)
        this.authOutcomes.set(origin.requestId, authOutcome);
      const refusal = refusals[i];
      if (refusal !== undefined && refusal !== null) pending.reject(refusal);
      else pending.resolve(result);
    }
    const revision = this.mvcc.currentRevision();
    if (events.length > 0) {
      this.watchHub.notify(events, revision);
      for (const listener of this.appliedListeners.slice()) listener({ events, revision });
    }
    this.releaseAppliedWaiters();
  }

  private releaseAppliedWaiters(): void {
    if (this.appliedWaiters.length === 0) return;
    const applied = this.mvcc.appliedIndex();
    const ready = this.appliedWaiters.filter((w) => w.index <= applied);
    if (ready.length === 0) return;
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.index > applied);
    for (const { waiter } of ready) waiter.resolve();
  }

  private applyConfChange(entry: Entry): void {
    const change = decodeConfChange(entry.data);
    const context = decodeMemberContext(change.context);
    if (change.type === ConfChangeType.RemoveNode) {
      this.members.remove(change.nodeId);
      // Not at once: the message telling the removed member that its removal committed may
      // still be queued for it, and without it that member would never apply its own removal.
      const removed = change.nodeId;
      setTimeout(() => {
        if (this.members.get(removed) === undefined && !this.stopping) this.transport.removePeer(removed);
      }, REMOVED_PEER_GRACE_MS).unref();
      if (change.nodeId === this.memberId) this.logger.warn('this member was removed from the cluster');
      this.recordEvent('membership', `member ${hexId(change.nodeId)} removed`);
    } else {
      const existing = this.members.get(change.nodeId);
      this.members.upsert({
        id: change.nodeId,
        name: context?.name ?? existing?.name ?? '',
        peerUrls: context?.peerUrls ?? existing?.peerUrls ?? [],
        clientUrls: context?.clientUrls ?? existing?.clientUrls ?? [],
        isLearner: change.type === ConfChangeType.AddLearner,
      });
      this.connectPeers();
      const verb = change.type === ConfChangeType.AddLearner ? 'added as learner' : 'added or promoted';
      this.recordEvent('membership', `member ${context?.name || hexId(change.nodeId)} ${verb}`);
    }
    const done = this.confChangeWaiters.filter((w) => w.nodeId === change.nodeId && w.type === change.type);
    this.confChangeWaiters = this.confChangeWaiters.filter((w) => !done.includes(w));
    for (const waiter of done) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.store.applySnapshot(snapshot);
    this.bytesSinceSnapshot = 0;
    const data = decodeSnapshotData(snapshot.data);
    restoreFromSnapshotData(this.mvcc, this.attachments, data);
    // Older attachments are superseded; this one stays until the database is synced past it.
    this.attachments.removeThrough(snapshot.metadata.index, data.mvccFile ?? null);
    this.watchHub.restored();
    this.lessor.rebuild();
    if (this.isLeader()) this.lessor.promote(performance.now(), this.config.electionTimeoutMs);
    this.alarms.clear();
    for (const [memberId, alarm] of data.alarms ?? []) this.applyAlarm(1, memberId, alarm);
    this.restoreAuth(data);
    const members = MemberTable.fromJSON(data.members);
    for (const member of this.members.list()) this.members.remove(member.id);
    for (const member of members.list()) this.members.upsert(member);
    this.connectPeers();
    this.logger.info('installed snapshot from leader', { index: snapshot.metadata.index });
    this.observability.metrics.snapshotsReceived.inc();
    this.recordEvent('snapshot', `installed snapshot at index ${snapshot.metadata.index}`);
  }

  /**
   * A snapshot leaving for a follower: a local snapshot holds no MVCC state (it is in the
   * database), so the current state — applied at or past the snapshot's index — streams after it,
   * read from one database read transaction as the connection has room. Building it in memory
   * instead blocked the event loop long enough (seconds per million keys) for the followers to
   * elect another leader, which then did the same. The follower skips re-applying entries its
   * restored store already holds (the store's applied index), as etcd does with the backend it sends.
   */
  private send(m: Message): void {
    if (m.type !== MessageType.Snapshot || m.snapshot === null) {
      this.transport.send(m);
      return;
    }
    if (!mvccOutOfLine(decodeSnapshotData(m.snapshot.data))) {
      this.transport.send(m);
      return;
    }
    const data = streamedSnapshotData({
      members: this.members.toJSON(),
      alarms: this.alarmList().map((a) => [a.memberId, a.alarm]),
      auth: this.auth.snapshot(),
      authTokens: this.tokens.snapshot(Date.now()),
    });
    this.transport.sendSnapshot(
      { ...m, snapshot: { metadata: m.snapshot.metadata, data } },
      mvccSnapshotSource(this.mvcc),
    );
  }

  /**
   * Log compaction: every snapshotCount applied entries, or sooner once they hold snapshotLogBytes,
   * record a snapshot point and drop the log before it (keeping some for slow followers, see
   * catchUpStart). The state itself is not copied:
   * the database is synced to disk first, so it holds at least everything the dropped log did.
   */
  private maybeSnapshot(): void {
    if (this.snapshotSync !== null || this.afterPersist !== null) return;
    const applied = this.raw.raft.log.applied;
    const entriesSince = applied - this.store.snapshot().metadata.index;
    if (entriesSince <= 0) return;
    if (entriesSince < this.config.snapshotCount && this.bytesSinceSnapshot < this.config.snapshotLogBytes)
      return;
    // After installing a state streamed by the leader, the database is at the leader's applied
    // index, past the snapshot's: a snapshot here would name an index below the state the
    // database holds, and a crash before the log reaches that state would read as damage at
    // restart (checkAppliedWithinLog). Wait until the log has caught up with the database.
    if (applied < this.mvcc.appliedIndex()) return;
    this.bytesSinceSnapshot = 0;
    const metadata = {
      index: applied,
      term: this.store.term(applied),
      confState: this.raw.raft.membership.toConfState(),
    };
    const data = encodeSnapshotData({
      members: this.members.toJSON(),
      alarms: this.alarmList().map((a) => [a.memberId, a.alarm]),
      mvcc: null,
      mvccInDatabase: true,
      auth: this.auth.snapshot(),
      authTokens: this.tokens.snapshot(Date.now()),
    });
    this.snapshotSync = this.mvcc.syncToDisk().then(
      () => {
        this.snapshotSync = null;
        const record = () => {
          // A snapshot installed from the leader meanwhile may already be past this one.
          if (this.stopping || metadata.index <= this.store.snapshot().metadata.index) return;
          this.store.createSnapshot(metadata, data);
          this.store.compact(this.catchUpStart(metadata.index));
          this.store.sync();
          this.store.releaseSegments();
          // The database is synced past the states received up to here: their files are not needed.
          this.attachments.removeThrough(metadata.index, null);
        };
        // The WAL must not be written while a Ready's fsync is in flight: record it right after.
        if (this.persisting === null) record();
        else this.afterPersist = record;
      },
      (error: unknown) => {
        this.snapshotSync = null;
        this.logger.error('syncing the database for a snapshot failed', { error: String(error) });
      },
    );
  }

  /** The database sync a pending compaction snapshot waits for. */
  private snapshotSync: Promise<void> | null = null;
  /** Bytes of entry data applied since the last local snapshot was decided (see maybeSnapshot). */
  private bytesSinceSnapshot = 0;

  /**
   * Where the log kept behind a snapshot at `index` for slow followers starts: at most
   * snapshotCatchUpEntries entries, holding at most half of snapshotLogBytes.
   */
  private catchUpStart(index: number): number {
    const floor = Math.max(this.store.firstIndex(), index - this.config.snapshotCatchUpEntries);
    if (floor >= index) return floor;
    const kept = this.store.entries(floor + 1, index + 1, Number.MAX_SAFE_INTEGER);
    const budget = this.config.snapshotLogBytes / 2;
    let bytes = 0;
    let start = index;
    for (let i = kept.length - 1; i >= 0; i--) {
      bytes += kept[i]!.data.byteLength;
      if (bytes > budget) break;
      start = kept[i]!.index - 1;
    }
    return Math.max(floor, start);
  }

  // ---- auth ------------------------------------------------------------------------------------

  /**
   * Applies an auth op and keeps the tokens in step: Authenticate issues "<prefix>.<index>" on every
   * member; deleting a user or changing its password ends its tokens; AuthDisable ends them all.
   */
  private applyAuth(op: AuthOp, index: number): AuthOutcome {
    const outcome = this.auth.apply(op);
    if (!outcome.ok) return outcome;
    if (op.kind === 'authenticate') {
      const grant = {
        user: op.name,
        prefix: op.tokenPrefix,
        index,
        authRevision: this.auth.authRevision(),
        issuedAtMs: op.issuedAtMs,
      };
      return { ok: true, token: this.tokens.issue(grant, Date.now()) };
    }
    if (op.kind === 'userDelete' || op.kind === 'userChangePassword') this.tokens.invalidateUser(op.name);
    if (op.kind === 'disable') this.tokens.clear();
    if (op.kind === 'enable' || op.kind === 'disable') {
      this.logger.warn(op.kind === 'enable' ? 'authentication enabled' : 'authentication disabled', {
        index,
      });
    }
    return outcome;
  }

  /**
   * etcd's authApplierV3: a KV write is checked again when applied, against the auth state at
   * this point of the log (the same on every member), so a write already in flight when its
   * permission is revoked is refused. Only the request and the auth state decide — not lease
   * keys, which the MVCC batch may not have reached yet — so every member decides alike.
   */
  private applyTimeRefusal(caller: string, request: ServerRequest): AuthError | null {
    if (!this.auth.isEnabled()) return null;
    switch (request.type) {
      case 'put':
        return this.auth.keyRefusal(caller, putNeeds(request.put));
      case 'deleteRange':
        return this.auth.keyRefusal(caller, deleteRangeNeeds(request.deleteRange));
      case 'txn':
        return this.auth.keyRefusal(caller, txnNeeds(request.txn));
      default:
        return null;
    }
  }

  private restoreAuth(data: SnapshotData): void {
    this.auth.restore(data.auth);
    this.tokens.restore(data.authTokens);
  }

  // ---- alarms and the storage quota (etcd's NOSPACE) ------------------------------------------

  private readonly alarms = new Map<string, { memberId: NodeId; alarm: number }>();
  private sizeInUseCache = { bytes: 0, measuredAtMs: Number.NEGATIVE_INFINITY };

  private applyAlarm(action: 1 | 2, memberId: NodeId, alarm: number): void {
    const key = `${memberId}:${alarm}`;
    if (action === 1) this.alarms.set(key, { memberId, alarm });
    else this.alarms.delete(key);
    this.logger.warn(action === 1 ? 'alarm raised' : 'alarm cleared', { member: hexId(memberId), alarm });
    const name = alarm === ALARM_NOSPACE ? 'NOSPACE' : `alarm ${alarm}`;
    this.recordEvent('alarm', `${name} ${action === 1 ? 'raised' : 'cleared'} by ${hexId(memberId)}`);
  }

  /** The transport finished streaming a snapshot to `peer`. */
  private snapshotSent(peer: NodeId, failed: boolean): void {
    this.raw.reportSnapshot(peer, failed);
    this.observability.metrics.snapshotsSent.inc({ outcome: failed ? 'failed' : 'ok' });
    const name = this.members.get(peer)?.name || hexId(peer);
    this.recordEvent('snapshot', `snapshot ${failed ? 'failed to reach' : 'sent to'} ${name}`);
  }

  private recordEvent(kind: ClusterEventKind, text: string): void {
    this.observability.events.record(kind, this.term(), text);
  }

  alarmList(): { memberId: NodeId; alarm: number }[] {
    return [...this.alarms.values()];
  }

  /** LMDB bytes in use, measured at most every QUOTA_MEASURE_INTERVAL_MS. */
  sizeInUseBytes(): number {
    const now = performance.now();
    if (now - this.sizeInUseCache.measuredAtMs > QUOTA_MEASURE_INTERVAL_MS) {
      this.sizeInUseCache = { bytes: this.mvcc.sizeInUseBytes(), measuredAtMs: now };
    }
    return this.sizeInUseCache.bytes;
  }

  /**
   * etcd's quota: a write that would take the store past --quota-backend-bytes raises the NOSPACE
   * alarm cluster-wide and is refused; while the alarm is active every member refuses writes that
   * add data (puts, txns with puts, lease grants). Reads, deletes and compaction still work.
   */
  checkQuota(costBytes: number): void {
    const spaceAlarm = [...this.alarms.values()].some((a) => a.alarm === ALARM_NOSPACE);
    if (!spaceAlarm && this.sizeInUseBytes() + costBytes <= this.config.quotaBackendBytes) return;
    if (!spaceAlarm) {
      this.propose({ type: 'alarm', action: 1, memberId: this.memberId, alarm: ALARM_NOSPACE }).catch(() => {
        // The next refused write raises it again.
      });
    }
    throw new GrpcError(Status.RESOURCE_EXHAUSTED, ERR_NO_SPACE);
  }

  /** Bytes of the LMDB data file (Status.dbSize). */
  dbSizeBytes(): number {
    try {
      return statSync(join(this.config.dataDir, 'member', 'db', 'data.mdb')).size;
    } catch {
      return 0; // not created yet (LMDB creates it on first write)
    }
  }

  /** The whole state, as a backup: what `etcdctl snapshot save` downloads (see backup.ts). */
  backup(): Uint8Array {
    // Users and roles travel with the data, as in etcd's backend; tokens do not outlive the member.
    return encodeSnapshotData({
      members: this.members.toJSON(),
      mvcc: [...this.mvcc.snapshot()],
      auth: this.auth.snapshot(),
    });
  }

  /** Announce this member's name and client URLs through Raft once a leader is known (etcd's publish). */
  private maybePublish(): void {
    if (this.published || this.leaderId === NONE || this.stopping) return;
    this.published = true;
    this.propose({
      type: 'publish',
      name: this.config.name,
      clientUrls: this.config.advertiseClientUrls,
      metricsUrls: this.config.listenMetricsUrls.map((url) => url.origin),
    }).catch(() => {
      this.published = false; // try again once a leader is known
    });
  }

  private connectPeers(): void {
    for (const member of this.members.list()) {
      if (member.id === this.memberId || member.peerUrls.length === 0) continue;
      const { host, port, secure } = peerAddress(member.peerUrls[0]);
      this.transport.addPeer(member.id, host, port, secure);
    }
  }

  // ---- observation -----------------------------------------------------------------------------

  /** Calls `listener` after every applied batch that produced events; returns an unsubscribe. */
  onApplied(listener: (batch: AppliedBatch) => void): () => void {
    this.appliedListeners.push(listener);
    return () => {
      const index = this.appliedListeners.indexOf(listener);
      if (index >= 0) this.appliedListeners.splice(index, 1);
    };
  }

  onLeadershipChange(listener: (isLeader: boolean) => void): void {
    this.leaderListeners.push(listener);
  }

  /** Proposals made here and not yet applied or failed. */
  pendingProposalCount(): number {
    return this.pendingWrites.size;
  }

  isLeader(): boolean {
    return this.raw.raft.role === Role.Leader;
  }

  term(): number {
    return this.raw.raft.term;
  }

  status(): ReturnType<RawNode['status']> {
    return this.raw.status();
  }

  transferLeadership(target: NodeId): void {
    this.raw.transferLeadership(target);
    this.scheduleLoop();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.tickTimer !== null) clearTimeout(this.tickTimer);
    this.hooks?.close();
    if (this.leaseTimer !== null) clearInterval(this.leaseTimer);
    this.watchHub.close();
    for (const pending of this.pendingWrites.drain()) pending.reject(stopped());
    if (this.readInFlight !== null) this.finishRead(this.readInFlight.context, stopped());
    for (const waiter of this.readQueue) waiter.reject(stopped());
    for (const { waiter } of this.appliedWaiters) waiter.reject(stopped());
    await this.transport.close();
    await this.persisting;
    await this.snapshotSync;
    this.store.close();
    await this.mvcc.close();
    await this.observability.close();
  }
}

/** Another membership change has not been applied yet; the caller may retry shortly. */
export class ConfChangePendingError extends GrpcError {
  constructor() {
    super(Status.FAILED_PRECONDITION, 'etcdserver: another membership change is still being applied');
  }
}

/** The fake result the 'early-ack' unsafe mode answers with. */
function earlyAck(request: ServerRequest, revision: number): ApplyResult {
  const header = { revision };
  if (request.type === 'put')
    return { status: 'applied', response: { type: 'put', put: { header } }, events: [] };
  if (request.type === 'txn') {
    return {
      status: 'applied',
      response: { type: 'txn', txn: { header, succeeded: true, responses: [] } },
      events: [],
    };
  }
  return { status: 'applied', response: { type: 'noop', header }, events: [] };
}

/** Ends the proposal's spans with the outcome of its promise (tracing only). */
function traceOutcome(promise: Promise<ApplyResult>, trace: ProposalTrace): Promise<ApplyResult> {
  promise.then(
    () => trace.finish(),
    (error: Error) => trace.finish(error),
  );
  return promise;
}

/** The trace context a replicated proposal carries, if any (tracing only: decodes the entry). */
function tracedEntry(entry: Entry): TracedEntry | null {
  if (entry.type !== EntryType.Normal || entry.data.byteLength === 0) return null;
  const proposal = decodeProposal(entry.data);
  if (proposal.traceparent === undefined) return null;
  return { traceparent: proposal.traceparent, origin: proposal.origin, requestId: proposal.requestId };
}

/**
 * What a refusal's context holds: a membership change (JSON, '{') or a client proposal
 * (msgpack), or null when it holds neither. A refusal can carry entries a peer sent: a
 * ForwardReject echoes the entries of the Forward it answers, and a peer may have forwarded
 * anything. This member's own proposals always decode, so one that does not is not ours to fail.
 */
function decodeRefused(context: Uint8Array): ConfChange | ReturnType<typeof decodeProposal> | null {
  if (context.byteLength === 0) return null;
  let decoded: unknown;
  try {
    decoded = context[0] === 0x7b ? decodeConfChange(context) : decodeProposal(context);
  } catch {
    return null; // undecodable, so not a proposal of this member (see above)
  }
  // msgpack also decodes to numbers, strings and nil; none of those is a proposal either.
  if (typeof decoded !== 'object' || decoded === null) return null;
  return decoded as ConfChange | ReturnType<typeof decodeProposal>;
}

/**
 * Entries are applied only after the WAL has fsynced them (the Ready contract), so the state in
 * LMDB can never be ahead of the log and snapshot on disk. If it is, the WAL lost records it had
 * made durable (truncated or replaced files): starting would build on a log that disagrees with
 * the state, so the member stops and says which files disagree.
 * One exception: a state streamed by the leader (`streamedState`: the snapshot restored from
 * names its attachment) is the leader's database at its own applied index, past the snapshot's,
 * so LMDB is ahead of the log until the leader's entries after the snapshot are durable here;
 * a crash in that window is not damage — those entries come again and the store skips them.
 */
function checkAppliedWithinLog(
  dataFile: string,
  walDir: string,
  appliedIndex: number,
  store: WalLogStore,
  streamedState: boolean,
): void {
  const durableIndex = Math.max(store.lastIndex(), store.snapshot().metadata.index);
  if (appliedIndex <= durableIndex || streamedState) return;
  throw new Error(
    `${dataFile}: applied index ${appliedIndex} is ahead of the last index ${durableIndex} in ${walDir} ` +
      'and its snapshot; the WAL lost records it had made durable — the data directory is damaged: ' +
      'remove this member and add it back so it catches up from the leader',
  );
}

function refusalError(reason: RefusalReason): GrpcError {
  switch (reason) {
    case 'transfer-in-progress':
      return new GrpcError(Status.UNAVAILABLE, ERR_LEADER_CHANGED);
    case 'too-many-uncommitted-bytes':
      return new GrpcError(Status.RESOURCE_EXHAUSTED, ERR_TOO_MANY_REQUESTS);
    default:
      return noLeader();
  }
}
