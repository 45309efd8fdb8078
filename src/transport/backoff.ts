// Reconnect delays: exponential backoff with "equal jitter" (half fixed, half random), capped.
// The fixed half keeps a flapping peer from being redialled in a tight loop; the random half
// keeps a cluster's nodes from redialling a restarted peer in lockstep.

/** Attempts beyond this no longer grow the delay (keeps 2^attempt finite). */
const BACKOFF_EXPONENT_MAX = 30;

/**
 * The delay before reconnect attempt `attempt` (0 after the first failure), in
 * [ceiling / 2, ceiling) where ceiling = min(maxMs, baseMs * 2^attempt). `rng` returns [0, 1).
 */
export function reconnectDelayMs(attempt: number, baseMs: number, maxMs: number, rng: () => number): number {
  const ceilingMs = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, BACKOFF_EXPONENT_MAX));
  const r = rng();
  const unit = r >= 0 && r < 1 ? r : 0;
  return Math.floor(ceilingMs / 2 + (unit * ceilingMs) / 2);
}
