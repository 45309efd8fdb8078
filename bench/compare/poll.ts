// Bounded polling: ask until an answer comes, a fatal condition shows up (a member died), or the
// deadline passes. Used for readiness and catch-up, so the benchmark never sleeps a fixed time.

/** Default pause between two probes. */
export const POLL_INTERVAL_MS = 20;

export interface PollOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Checked before every probe: a message stops polling at once with that error. */
  readonly fatal?: () => string | null;
}

export async function pollUntil<T>(
  what: string,
  options: PollOptions,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const fatal = options.fatal?.() ?? null;
    if (fatal !== null) throw new Error(`while waiting for ${what}: ${fatal}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      // Refused connections and deadline errors are expected while a member starts; the last
      // one is reported if the deadline passes.
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? POLL_INTERVAL_MS));
  }
  const reason = lastError === undefined ? '' : `: ${(lastError as Error).message}`;
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${reason}`);
}
