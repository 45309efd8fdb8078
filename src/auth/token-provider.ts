// How a member issues and recognises auth tokens: etcd's simple tokens (tokens.ts), kept by
// every member, or JWTs (jwt-tokens.ts), checked by signature alone.

export interface IssuedToken {
  readonly user: string;
  /** The auth revision the token was issued at (JWT), or null (simple tokens do not carry one). */
  readonly authRevision: number | null;
}

/** What an applied Authenticate entry says about the token to issue. */
export interface TokenGrant {
  readonly user: string;
  /** The random part the receiving member proposed (simple tokens). */
  readonly prefix: string;
  /** The entry's Raft index. */
  readonly index: number;
  /** The auth revision at the entry (JWT claims carry it). */
  readonly authRevision: number;
  /** The receiving member's wall clock when it proposed the entry: the token's lifetime starts here. */
  readonly issuedAtMs: number;
}

export interface TokenProvider {
  /** The token an applied Authenticate entry issues, on every member. */
  issue(grant: TokenGrant, nowMs: number): string;
  /** Who the token is for, or null when it is unknown, expired or forged. */
  use(token: string, nowMs: number): IssuedToken | null;
  invalidateUser(user: string): void;
  clear(): void;
  /** Live tokens for snapshots, as [token, user, expiry ms]. */
  snapshot(nowMs: number): [string, string, number][];
  restore(entries: readonly [string, string, number][] | undefined): void;
}
