// Replaying past changes for watchers that start at an old revision (etcd's watchable store
// syncWatchers reads the "key" bucket by revision the same way).

import { decodeRecord, isTombstoneRecord, tombstoneKeyValue } from './codec.js';
import { CompactedError } from './errors.js';
import { inKeyRange, type KeyRange, readUint64, revisionKey } from './keys.js';
import type { MetaState, Tables } from './tables.js';
import { EventType, type MvccEvent } from './types.js';

export interface ChangesResult {
  /** Events in revision order; never splits one revision's events across two calls. */
  readonly events: MvccEvent[];
  /** The first revision not covered yet: pass it as the next start revision. */
  readonly nextRevision: number;
}

/**
 * The changes to keys in `range` at revisions >= startRevision, at most about `limit` events
 * (the last revision is always completed). `maxScannedRecords` (0: no bound) also stops at a
 * revision boundary once that many records were read, matching or not, so a narrow watcher
 * over a long history costs bounded work per call. Throws CompactedError when the start
 * revision is below the compact revision, as etcd cancels such a watch.
 */
export function changesSince(
  tables: Tables,
  meta: MetaState,
  startRevision: number,
  range: KeyRange,
  limit: number,
  maxScannedRecords = 0,
): ChangesResult {
  if (startRevision < meta.compactRevision) throw new CompactedError();
  const events: MvccEvent[] = [];
  const from = Math.max(startRevision, 1);
  let scanned = 0;
  let previousMain = 0;
  for (const { key, value } of tables.rev.getRange({
    start: revisionKey(from, 0),
    end: revisionKey(meta.currentRevision + 1, 0),
  })) {
    const main = readUint64(key, 0);
    if (limit > 0 && events.length >= limit && events[events.length - 1]!.kv.modRevision !== main) {
      return { events, nextRevision: main };
    }
    if (maxScannedRecords > 0 && scanned >= maxScannedRecords && main !== previousMain) {
      return { events, nextRevision: main };
    }
    scanned++;
    previousMain = main;
    const kv = decodeRecord(value);
    if (!inKeyRange(range, kv.key)) continue;
    events.push(
      isTombstoneRecord(value)
        ? { type: EventType.DELETE, kv: tombstoneKeyValue(kv.key, main) }
        : { type: EventType.PUT, kv },
    );
  }
  return { events, nextRevision: meta.currentRevision + 1 };
}
