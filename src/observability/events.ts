// Recent cluster events as one member saw them: leader changes, membership changes, snapshots,
// alarms. A bounded ring, read by the dashboard (each member's list is merged there).

export type ClusterEventKind = 'leader' | 'membership' | 'snapshot' | 'alarm';

export interface ClusterEvent {
  /** Wall-clock time (ms since the epoch): events from several members are merged by it. */
  readonly atMs: number;
  readonly kind: ClusterEventKind;
  /** Name of the member that saw it. */
  readonly member: string;
  readonly term: number;
  readonly text: string;
}

/** Events kept per member; the oldest go first. */
export const RECENT_EVENTS_MAX = 200;

export class RecentEvents {
  private readonly events: ClusterEvent[] = [];

  constructor(private readonly member: () => string) {}

  record(kind: ClusterEventKind, term: number, text: string): void {
    this.events.push({ atMs: Date.now(), kind, member: this.member(), term, text });
    if (this.events.length > RECENT_EVENTS_MAX) this.events.shift();
  }

  /** Oldest first. */
  list(): readonly ClusterEvent[] {
    return this.events;
  }
}
