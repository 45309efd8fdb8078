// Key permissions of a role and the question every request asks: does the union of a user's
// permissions of one type cover the keys the request touches? etcd answers it with an interval
// tree per user (auth/range_perm_cache.go); the same rules here, over sorted intervals:
//   - a permission with an empty range_end covers its one key;
//   - range_end "\0" means "to the end of the key space" (etcdctl --from-key);
//   - otherwise it covers [key, range_end).
// A request on one key (empty range_end) needs that key inside some interval; a request on a
// range needs the whole range covered, possibly by several adjacent intervals together.

import { compareBytes } from '../mvcc/keys.js';

/** authpb.Permission.Type. */
export const PermissionType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermissionType = (typeof PermissionType)[keyof typeof PermissionType];

export interface KeyPermission {
  readonly permType: PermissionType;
  readonly key: Uint8Array;
  /** Empty: the single key; [0]: open ended; otherwise the exclusive end. */
  readonly rangeEnd: Uint8Array;
}

/** What a request needs: read or write on one key (empty rangeEnd) or a range of keys. */
export interface Need {
  readonly access: 'read' | 'write';
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
}

/** [start, end) with end null for "no upper bound". */
interface Interval {
  readonly start: Uint8Array;
  readonly end: Uint8Array | null;
}

export function isOpenEnded(rangeEnd: Uint8Array): boolean {
  return rangeEnd.byteLength === 1 && rangeEnd[0] === 0;
}

/** The smallest key after `key`: key + "\0" (ends the interval of a single-key permission). */
function successor(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.byteLength + 1);
  next.set(key);
  return next;
}

function intervalOf(key: Uint8Array, rangeEnd: Uint8Array): Interval {
  if (rangeEnd.byteLength === 0) return { start: key, end: successor(key) };
  if (isOpenEnded(rangeEnd)) return { start: key, end: null };
  return { start: key, end: rangeEnd };
}

function grants(permType: PermissionType, access: Need['access']): boolean {
  if (permType === PermissionType.READWRITE) return true;
  return access === 'read' ? permType === PermissionType.READ : permType === PermissionType.WRITE;
}

/**
 * True when `permissions` (all of a user's roles together) allow `need`. A range whose end is
 * at or before its start holds no keys; etcd's interval tree finds no interval containing it, so
 * it is refused like any uncovered range.
 */
export function permits(permissions: readonly KeyPermission[], need: Need): boolean {
  const wanted = intervalOf(need.key, need.rangeEnd);
  if (wanted.end !== null && compareBytes(wanted.start, wanted.end) >= 0) return false;
  const intervals = permissions
    .filter((p) => grants(p.permType, need.access))
    .map((p) => intervalOf(p.key, p.rangeEnd))
    .sort((a, b) => compareBytes(a.start, b.start));
  // Sweep: `covered` is the end of the prefix of `wanted` covered so far.
  let covered = wanted.start;
  for (const interval of intervals) {
    if (compareBytes(interval.start, covered) > 0) break; // a gap before this interval
    if (interval.end === null) return true;
    if (compareBytes(interval.end, covered) > 0) covered = interval.end;
    if (wanted.end !== null && compareBytes(covered, wanted.end) >= 0) return true;
  }
  return false;
}
