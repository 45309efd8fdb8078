// Test knobs from the environment (seed counts, operation counts), validated with a clear message.

/** `process.env[name]` as a positive integer, or `fallback` when unset or empty. */
export function positiveIntegerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}
