// Invariant assertions for the checker. A checker that quietly carries on after its own
// bookkeeping broke could report "valid" for a broken store, so a broken invariant throws.
// Kept local (not imported from src/raft) so the checker depends on nothing it is checking.

export class CheckerInvariantError extends Error {
  constructor(message: string) {
    super(`checker invariant violated: ${message}`);
    this.name = 'CheckerInvariantError';
  }
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckerInvariantError(message);
}
