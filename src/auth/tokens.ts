// etcd's simple tokens (--auth-token simple): "<16 random letters>.<raft index>". The receiving
// member picks the random part and proposes it with Authenticate; every member adds the entry's
// index when it applies the entry, so the token is known cluster-wide and unique even if two
// members pick the same letters. A token lives --auth-token-ttl seconds past its last use on
// this member (etcd's simpleTokenTTLKeeper resets the TTL on every use), and dies with its
// user's deletion or password change and with AuthDisable.

import { randomInt } from 'node:crypto';
import type { IssuedToken, TokenGrant, TokenProvider } from './token-provider.js';

const TOKEN_PREFIX_LETTERS = 16;
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** A bound on live tokens (TigerBeetle: a limit on everything); past it the oldest is dropped. */
export const LIVE_TOKENS_MAX = 100_000;

/** The random part a receiving member proposes (etcd's genTokenPrefix). */
export function newTokenPrefix(): string {
  let prefix = '';
  for (let i = 0; i < TOKEN_PREFIX_LETTERS; i++) prefix += LETTERS[randomInt(LETTERS.length)];
  return prefix;
}

export function tokenOf(prefix: string, index: number): string {
  return `${prefix}.${index}`;
}

interface LiveToken {
  readonly user: string;
  /** Wall-clock ms (Date.now()) after which the token is invalid unless used again. */
  expiresAtMs: number;
}

export class SimpleTokens implements TokenProvider {
  /** In insertion order, so the oldest is first when the bound is hit. */
  private readonly tokens = new Map<string, LiveToken>();

  constructor(private readonly ttlMs: number) {}

  /**
   * Issues `token` for `user`. `issuedAtMs` is the receiving member's clock when it proposed the
   * entry: a member replaying an old entry after a restart does not bring an expired token back.
   */
  assign(token: string, user: string, issuedAtMs: number, nowMs: number): void {
    const expiresAtMs = issuedAtMs + this.ttlMs;
    if (expiresAtMs <= nowMs) return;
    if (this.tokens.size >= LIVE_TOKENS_MAX) {
      const oldest = this.tokens.keys().next().value;
      if (oldest !== undefined) this.tokens.delete(oldest);
    }
    this.tokens.set(token, { user, expiresAtMs });
  }

  issue(grant: TokenGrant, nowMs: number): string {
    const token = tokenOf(grant.prefix, grant.index);
    this.assign(token, grant.user, grant.issuedAtMs, nowMs);
    return token;
  }

  /** The token's user, extending its life; null when unknown or expired. */
  use(token: string, nowMs: number): IssuedToken | null {
    const live = this.tokens.get(token);
    if (live === undefined) return null;
    if (live.expiresAtMs <= nowMs) {
      this.tokens.delete(token);
      return null;
    }
    live.expiresAtMs = nowMs + this.ttlMs;
    return { user: live.user, authRevision: null };
  }

  invalidateUser(user: string): void {
    for (const [token, live] of this.tokens) if (live.user === user) this.tokens.delete(token);
  }

  clear(): void {
    this.tokens.clear();
  }

  /** Live tokens, for snapshots: a member restored from one knows the tokens issued before it. */
  snapshot(nowMs: number): [string, string, number][] {
    const live: [string, string, number][] = [];
    for (const [token, { user, expiresAtMs }] of this.tokens) {
      if (expiresAtMs > nowMs) live.push([token, user, expiresAtMs]);
    }
    return live;
  }

  restore(entries: readonly [string, string, number][] | undefined): void {
    this.tokens.clear();
    for (const [token, user, expiresAtMs] of entries ?? []) this.tokens.set(token, { user, expiresAtMs });
  }
}
