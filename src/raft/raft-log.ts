// The core's view of the log: durable entries in the LogStore plus unstable ones in memory,
// with the commit and apply cursors. Rules from Raft Figure 2 (AppendEntries receiver).

import { assert } from './assert.js';
import { LogCompactedError, type LogStore, limitBytes } from './log-store.js';
import type { Entry, Snapshot } from './types.js';
import { Unstable } from './unstable.js';

export class RaftLog {
  readonly store: LogStore;
  readonly unstable: Unstable;
  /** Highest index known to be committed (replicated on a quorum in the leader's term). */
  committed: number;
  /** Highest index the application has acknowledged applying. */
  applied: number;

  constructor(store: LogStore) {
    this.store = store;
    const first = store.firstIndex();
    const last = store.lastIndex();
    this.unstable = new Unstable(last + 1);
    // The snapshot's index is both committed and applied by definition.
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.store.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.store.lastIndex();
  }

  /** Term of the entry at `index`, or null if it is compacted away or beyond the last index. */
  termOrNull(index: number): number | null {
    const dummyIndex = this.firstIndex() - 1;
    if (index < dummyIndex || index > this.lastIndex()) return null;
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== null) return unstableTerm;
    try {
      return this.store.term(index);
    } catch (error) {
      if (error instanceof LogCompactedError) return null;
      throw error;
    }
  }

  term(index: number): number {
    const term = this.termOrNull(index);
    assert(
      term !== null,
      `term of index ${index} is unavailable (log [${this.firstIndex()}, ${this.lastIndex()}])`,
    );
    return term;
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(index: number, term: number): boolean {
    return this.termOrNull(index) === term;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * AppendEntries receiver rules 2–5. Returns the index of the last new entry, or null when the
   * log does not contain an entry at `index` with term `logTerm` (the leader must back up).
   */
  maybeAppend(index: number, logTerm: number, committed: number, entries: readonly Entry[]): number | null {
    if (!this.matchTerm(index, logTerm)) return null;
    const lastNewIndex = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(
        conflict > this.committed,
        `entry ${conflict} conflicts with committed entry (committed ${this.committed})`,
      );
      this.append(entries.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNewIndex));
    return lastNewIndex;
  }

  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    assert(
      entries[0].index - 1 >= this.committed,
      `append at ${entries[0].index} would overwrite committed entries`,
    );
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** Index of the first entry whose term differs from ours (or that we lack); 0 if none. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * Fast backtracking (thesis §5.3 optimisation, etcd's findConflictByTerm): the largest index
   * ≤ `index` whose term is ≤ `term`. Entries between it and `index` cannot match the peer's.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let candidate = Math.min(index, this.lastIndex());
    while (candidate > 0) {
      const ourTerm = this.termOrNull(candidate);
      if (ourTerm === null) break;
      if (ourTerm <= term) return { index: candidate, term: ourTerm };
      candidate--;
    }
    return { index: candidate, term: this.termOrNull(candidate) ?? 0 };
  }

  /** Entries from `lo` onward, bounded by `maxBytes` (at least one if any exist). */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    const last = this.lastIndex();
    if (lo > last) return [];
    return this.slice(lo, last + 1, maxBytes);
  }

  /** Entries in [lo, hi). Throws LogCompactedError when lo is below the first index. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.firstIndex()) throw new LogCompactedError(lo);
    assert(hi <= this.lastIndex() + 1, `slice [${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    if (lo === hi) return [];
    let result: Entry[] = [];
    const unstableStart = this.unstable.offset;
    if (lo < unstableStart) {
      result = this.store.entries(lo, Math.min(hi, unstableStart), maxBytes);
      // The store stopped early because of the byte limit: do not append unstable entries.
      if (result.length < Math.min(hi, unstableStart) - lo) return result;
    }
    if (hi > unstableStart) {
      const fromUnstable = this.unstable.slice(Math.max(lo, unstableStart), hi);
      result = result.length === 0 ? fromUnstable : result.concat(fromUnstable);
    }
    return limitBytes(result, maxBytes);
  }

  pendingSnapshot(): Snapshot | null {
    return this.unstable.snapshot;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.store.snapshot();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return; // commit never decreases
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Advance commit to `index` if its entry has term `term` (the caller's current term). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.termOrNull(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(
      index <= this.committed && index >= this.applied,
      `applied ${index} outside [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }
}
