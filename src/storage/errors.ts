// Typed storage errors. Each one stops the node (or refuses a file) with enough detail for an
// operator to find the damage: the file and, for the WAL, the byte offset of the first bad record.

/** Damage before the torn tail of the WAL: committed data may be affected, so the node must not start. */
export class WalCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offsetBytes: number,
    readonly reason: string,
  ) {
    super(`wal: corrupt record in ${file} at byte ${offsetBytes}: ${reason}`);
    this.name = 'WalCorruptError';
  }
}

/** The WAL belongs to another cluster or Raft group. */
export class WalMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`wal: ${file} belongs to ${found}, expected ${expected}`);
    this.name = 'WalMismatchError';
  }
}

/**
 * A write or fsync failed. After a failed fsync the kernel may have dropped the dirty pages
 * (the 2018 "fsyncgate" finding), so retrying could report data durable that is not; the WAL
 * refuses every later call and the node must restart and recover from what is on disk.
 */
export class WalFailedError extends Error {
  constructor(override readonly cause: unknown) {
    super(`wal: an earlier write or fsync failed; restart and recover (${describe(cause)})`);
    this.name = 'WalFailedError';
  }
}

/** A snapshot file whose header, length or checksum does not verify. */
export class SnapshotCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`snapshot: ${file} is corrupt: ${reason}`);
    this.name = 'SnapshotCorruptError';
  }
}

/** No snapshot file at the index the WAL says the log starts after. */
export class SnapshotMissingError extends Error {
  constructor(
    readonly dir: string,
    readonly index: number,
  ) {
    super(`snapshot: no snapshot file for index ${index} in ${dir}`);
    this.name = 'SnapshotMissingError';
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
