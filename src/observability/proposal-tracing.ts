// The spans of one write as it moves through Raft, on every member that touches it:
//
//   origin member:  flotilla.propose ─┬─ raft.forward   (follower only: until the leader's append comes back)
//   leader:                           ├─ raft.persist   (WAL append + fsync of the batch holding it)
//                                     └─ raft.replicate (append → committed by a quorum; event "committed")
//   followers:                        ├─ raft.persist
//   every member:                     └─ raft.apply     (MVCC apply of its batch)
//
// The parent of the entry-level spans is the propose span, named by the `traceparent` the origin
// put in the replicated proposal. Called only when tracing is enabled (the node checks the
// boolean first); the Raft core never sees any of this.

import { type Span, SpanStatusCode } from '@opentelemetry/api';
import type { Entry } from '../raft/types.js';
import type { Tracing } from './tracing.js';

/** What the node can tell about an entry: its trace context and who proposed it. */
export interface TracedEntry {
  readonly traceparent: string;
  readonly origin: bigint;
  readonly requestId: number;
}

/** Bound on writes tracked at once (replicating or forwarded); beyond it new ones go untracked. */
export const TRACKED_ENTRIES_MAX = 10_000;

export interface ProposalTrace {
  readonly traceparent: string;
  /** Ends the propose span (and a forward span still open) with the outcome. */
  finish(error?: Error): void;
}

export class ProposalTracing {
  /** Leader: replicate spans by log index, ended when the entry commits. */
  private readonly replicating = new Map<number, Span>();
  /** Origin follower: forward spans by request id, ended when the leader's append arrives. */
  private readonly forwarding = new Map<number, Span>();

  constructor(
    private readonly tracing: Tracing,
    private readonly selfId: bigint,
    private readonly memberName: string,
    /** Decodes an entry's trace context; null for untraced entries and non-proposals. */
    private readonly traced: (entry: Entry) => TracedEntry | null,
  ) {}

  /** Starts the propose span under the active request span; `leader` is null when this member leads. */
  startProposal(requestId: number, leader: string | null): ProposalTrace {
    const span = this.tracing.startActiveChild('flotilla.propose');
    span.setAttributes({ 'flotilla.member': this.memberName, 'flotilla.request_id': requestId });
    let forward: Span | null = null;
    if (leader !== null && this.forwarding.size < TRACKED_ENTRIES_MAX) {
      forward = this.tracing.startChildOf('raft.forward', span);
      forward.setAttributes({ 'flotilla.member': this.memberName, 'flotilla.leader': leader });
      this.forwarding.set(requestId, forward);
    }
    return {
      traceparent: this.tracing.traceparentOf(span),
      finish: (error?: Error) => {
        if (forward !== null && this.forwarding.get(requestId) === forward) {
          this.forwarding.delete(requestId);
          endSpan(forward, error);
        }
        span.addEvent(error === undefined ? 'applied' : 'failed');
        endSpan(span, error);
      },
    };
  }

  /** Before the WAL append of `entries`: one persist span per traced entry (and replicate on a leader). */
  persistStart(entries: readonly Entry[], isLeader: boolean): Span[] | null {
    let spans: Span[] | null = null;
    for (const entry of entries) {
      const traced = this.traced(entry);
      if (traced === null) continue;
      this.forwardArrived(traced);
      spans = appendSpan(spans, this.entrySpan('raft.persist', entry, traced));
      if (isLeader && this.replicating.size < TRACKED_ENTRIES_MAX) {
        this.replicating.set(entry.index, this.entrySpan('raft.replicate', entry, traced));
      }
    }
    return spans;
  }

  persistEnd(spans: Span[] | null): void {
    if (spans !== null) for (const span of spans) span.end();
  }

  /** Before applying `entries`: ends replicate spans (committed) and starts apply spans. */
  applyStart(entries: readonly Entry[]): Span[] | null {
    let spans: Span[] | null = null;
    for (const entry of entries) {
      const replicate = this.replicating.get(entry.index);
      if (replicate !== undefined) {
        this.replicating.delete(entry.index);
        replicate.addEvent('committed');
        replicate.end();
      }
      const traced = this.traced(entry);
      if (traced === null) continue;
      spans = appendSpan(spans, this.entrySpan('raft.apply', entry, traced));
    }
    return spans;
  }

  applyEnd(spans: Span[] | null): void {
    if (spans !== null) for (const span of spans) span.end();
  }

  /** Leadership lost: entries still replicating may never commit under this leader. */
  abandonReplication(): void {
    for (const span of this.replicating.values()) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'leadership lost before commit' });
      span.end();
    }
    this.replicating.clear();
  }

  private forwardArrived(traced: TracedEntry): void {
    if (traced.origin !== this.selfId) return;
    const forward = this.forwarding.get(traced.requestId);
    if (forward === undefined) return;
    this.forwarding.delete(traced.requestId);
    forward.addEvent('appended by leader');
    forward.end();
  }

  private entrySpan(name: string, entry: Entry, traced: TracedEntry): Span {
    const span = this.tracing.startRemoteChild(name, traced.traceparent);
    span.setAttributes({
      'flotilla.member': this.memberName,
      'raft.index': entry.index,
      'raft.term': entry.term,
    });
    return span;
  }
}

/** Spans of one batch; the array is made only when the batch holds a traced entry. */
function appendSpan(spans: Span[] | null, span: Span): Span[] {
  if (spans === null) return [span];
  spans.push(span);
  return spans;
}

function endSpan(span: Span, error: Error | undefined): void {
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  span.end();
}
