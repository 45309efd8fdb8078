// WAL replay: rebuilds one group's log from its records, in segment order. Later entries
// overwrite earlier ones at the same index (conflicting suffixes), snapshot markers drop what a
// snapshot covers, and the last hard state wins.

import { EMPTY_HARD_STATE, type Entry, type HardState } from '../raft/types.js';
import { WalCorruptError } from './errors.js';
import {
  decodeEntry,
  decodeHardState,
  decodeSnapshotMarker,
  EMPTY_MARKER,
  type RawRecord,
  RecordType,
  type SnapshotMarker,
} from './record.js';
import { decodeOrThrow } from './segment.js';

/**
 * Rebuilds the log by applying records in order: later entries overwrite earlier ones at the
 * same index (conflicting suffixes), markers drop what a snapshot covers.
 */
export class Replay {
  hardState: HardState = EMPTY_HARD_STATE;
  marker: SnapshotMarker = EMPTY_MARKER;
  /** entries[k] has index entriesStart + k. */
  entries: Entry[] = [];
  entriesStart = 1;
  private file = '';
  /** Older segments were released: the first entries seen may start above marker + 1. */
  private prefixReleased = false;

  beginSegment(file: string, prefixReleased: boolean): void {
    this.file = file;
    // Sticky: once older segments are known released, a gap may open before the first entry
    // seen; `finish` still requires a later marker to cover it.
    if (prefixReleased) this.prefixReleased = true;
  }

  apply(record: RawRecord, offset: number): void {
    switch (record.type) {
      case RecordType.Entry:
        this.applyEntry(
          decodeOrThrow(this.file, offset, () => decodeEntry(record)),
          offset,
        );
        break;
      case RecordType.HardState:
        this.hardState = decodeOrThrow(this.file, offset, () => decodeHardState(record));
        break;
      case RecordType.SnapshotMarker:
        this.applyMarker(decodeOrThrow(this.file, offset, () => decodeSnapshotMarker(record)));
        break;
      default:
        throw new WalCorruptError(this.file, offset, `unexpected record type ${record.type}`);
    }
  }

  finish(file: string): { hardState: HardState; marker: SnapshotMarker; entries: Entry[] } {
    if (this.entries.length > 0 && this.entriesStart !== this.marker.index + 1) {
      throw new WalCorruptError(
        file,
        0,
        `entries ${this.marker.index + 1}..${this.entriesStart - 1} are missing (a segment was lost)`,
      );
    }
    return {
      hardState: this.hardState,
      marker: { ...this.marker, replacesLog: false },
      entries: this.entries,
    };
  }

  private applyEntry(entry: Entry, offset: number): void {
    if (entry.index <= this.marker.index) return; // covered by a snapshot
    if (this.entries.length === 0) {
      if (entry.index !== this.marker.index + 1 && !this.prefixReleased) {
        throw new WalCorruptError(
          this.file,
          offset,
          `entry ${entry.index} after snapshot ${this.marker.index}`,
        );
      }
      this.entriesStart = entry.index;
      this.entries.push(entry);
      return;
    }
    const next = this.entriesStart + this.entries.length;
    if (entry.index > next) {
      throw new WalCorruptError(this.file, offset, `entry ${entry.index} leaves a gap after ${next - 1}`);
    }
    if (entry.index < this.entriesStart) {
      // A conflicting suffix reaching below what this replay has seen (older segments released):
      // the new entry starts the known log again.
      this.entries = [entry];
      this.entriesStart = entry.index;
      return;
    }
    this.entries.length = entry.index - this.entriesStart; // truncate the conflicting suffix
    this.entries.push(entry);
  }

  private applyMarker(marker: SnapshotMarker): void {
    if (marker.replacesLog) {
      this.entries = [];
    } else if (marker.index < this.marker.index) {
      return; // a segment preamble repeating an older compaction point
    } else if (marker.index >= this.entriesStart) {
      this.entries = this.entries.slice(marker.index + 1 - this.entriesStart);
    }
    this.marker = marker;
    if (this.entries.length === 0) this.entriesStart = marker.index + 1;
    else this.entriesStart = Math.max(this.entriesStart, marker.index + 1);
  }
}
