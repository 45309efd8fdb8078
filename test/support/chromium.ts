// Debian's chromium for browser tests, driven by playwright-core. Same convention as etcd.ts:
// locally a missing binary skips with a message; in CI (process.env.CI set) the test runs and
// fails loudly at launch — a missing browser must not turn into a green run.

import { accessSync, constants } from 'node:fs';

export const CHROMIUM_BIN = process.env.FLOTILLA_CHROMIUM_BIN ?? '/usr/bin/chromium';

function chromiumPresent(): boolean {
  try {
    accessSync(CHROMIUM_BIN, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A `skip` value for node:test: a reason string locally when chromium is missing, false otherwise. */
export function chromiumSkipReason(): string | false {
  if (chromiumPresent()) return false;
  if (process.env.CI) return false; // in CI, run and fail at launch
  return `chromium not found at ${CHROMIUM_BIN} (install Debian package chromium, or set FLOTILLA_CHROMIUM_BIN); skipping`;
}

/** Throws a clear error when chromium is missing (reached only in CI, or by a forced run). */
export function requireChromium(): string {
  if (!chromiumPresent()) {
    throw new Error(
      `chromium not found or not executable at ${CHROMIUM_BIN}${process.env.CI ? ' (required in CI)' : ''}`,
    );
  }
  return CHROMIUM_BIN;
}
