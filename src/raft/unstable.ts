// Entries (and possibly a snapshot) the core has accepted but the driver has not yet made
// durable. They move to the LogStore when `advance()` reports them persisted.

import { assert } from './assert.js';
import type { Entry, Snapshot } from './types.js';

export class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /** Index of entries[0]; entries always continue the stable log (or the unstable snapshot). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  maybeFirstIndex(): number | null {
    return this.snapshot === null ? null : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | null {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === null ? null : this.snapshot.metadata.index;
  }

  maybeTerm(index: number): number | null {
    if (index < this.offset) {
      if (this.snapshot !== null && this.snapshot.metadata.index === index)
        return this.snapshot.metadata.term;
      return null;
    }
    const last = this.maybeLastIndex();
    if (last === null || index > last) return null;
    return this.entries[index - this.offset].term;
  }

  /** The driver persisted entries up to (index, term): drop them from the unstable list. */
  stableTo(index: number, term: number): void {
    const current = this.maybeTerm(index);
    // Only if the entry at `index` is still the one persisted; a newer leader may have replaced it.
    if (current === null || current !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) this.snapshot = null;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
  }

  /** Appends, truncating any unstable entries at or after the first new index. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0].index;
    if (after === this.offset + this.entries.length) {
      for (const entry of entries) this.entries.push(entry);
    } else if (after <= this.offset) {
      // Replace everything unstable; the driver will also truncate the stable log from `after`.
      this.offset = after;
      this.entries = entries.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset);
      for (const entry of entries) this.entries.push(entry);
    }
    assert(this.entries[0]?.index === this.offset, 'unstable entries must start at offset');
  }

  slice(lo: number, hi: number): Entry[] {
    assert(
      lo >= this.offset && hi <= this.offset + this.entries.length,
      `unstable slice [${lo}, ${hi}) out of range`,
    );
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
