// Compaction: etcd's store.Compact with keyIndex.compact semantics. For every key, the newest
// revision at or below the compaction revision is kept unless it is a tombstone; everything
// older goes, from both the history index and the rev table. Revisions above the compaction
// revision are untouched. Runs inside the caller's LMDB write transaction.

import { CompactedError, FutureRevisionError } from './errors.js';
import { REVISION_KEY_BYTES, readUint64 } from './keys.js';
import type { MetaState, Tables } from './tables.js';

/** History entries read per cursor pass; bounds the memory a compaction holds. */
const COMPACT_CHUNK_ENTRIES = 4096;
const HISTORY_TOMBSTONE = 1;

/** etcd's updateCompactRev checks. */
export function checkCompact(meta: MetaState, revision: number): void {
  if (revision <= meta.compactRevision) throw new CompactedError();
  if (revision > meta.currentRevision) throw new FutureRevisionError();
}

/** Removes superseded revisions at or below `revision`. Returns how many revisions it removed. */
export function compactHistory(tables: Tables, revision: number): number {
  let removed = 0;
  let group: Buffer | undefined;
  let candidate: Buffer | undefined; // history key of the group's newest revision <= `revision`
  let candidateIsTombstone = false;
  const doomed: Buffer[] = [];
  const endGroup = (): void => {
    if (candidate !== undefined && candidateIsTombstone) doomed.push(candidate);
    candidate = undefined;
  };
  let start: Buffer = Buffer.alloc(1);
  let exclusiveStart = false;
  for (;;) {
    let seen = 0;
    let last: Buffer | undefined;
    for (const { key, value } of tables.hist.getRange({
      start,
      exclusiveStart,
      limit: COMPACT_CHUNK_ENTRIES,
    })) {
      seen++;
      last = key;
      const prefixLength = key.length - REVISION_KEY_BYTES;
      if (
        group === undefined ||
        group.length !== prefixLength ||
        key.compare(group, 0, prefixLength, 0, prefixLength) !== 0
      ) {
        endGroup();
        group = key.subarray(0, prefixLength);
      }
      if (readUint64(key, prefixLength) > revision) continue;
      if (candidate !== undefined) doomed.push(candidate);
      candidate = key;
      candidateIsTombstone = value[0] === HISTORY_TOMBSTONE;
    }
    if (seen < COMPACT_CHUNK_ENTRIES) endGroup();
    // Delete only after the cursor pass: LMDB cursors must not see the table change under them.
    for (const key of doomed) {
      tables.hist.removeSync(key);
      tables.rev.removeSync(key.subarray(key.length - REVISION_KEY_BYTES));
    }
    removed += doomed.length;
    doomed.length = 0;
    if (seen < COMPACT_CHUNK_ENTRIES || last === undefined) return removed;
    start = last;
    exclusiveStart = true;
  }
}
