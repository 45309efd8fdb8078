// etcd's JWT tokens (--auth-token jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…): signed claims
// {username, revision, exp} that every member checks with the public key alone, so nothing about
// them is replicated or kept. `revision` is the auth revision when the token was issued: a token
// from before any later auth change is refused with "revision of auth store is old", on which
// etcd's clients authenticate again (etcd's isOpPermitted does the same).

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import type { IssuedToken, TokenGrant, TokenProvider } from './token-provider.js';

/** The sign methods etcd 3.4 accepts for asymmetric keys. */
export const JWT_SIGN_METHODS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;
export type JwtSignMethod = (typeof JWT_SIGN_METHODS)[number];

export interface JwtOptions {
  readonly publicKeyFile: string;
  readonly privateKeyFile: string;
  readonly signMethod: JwtSignMethod;
  readonly ttlMs: number;
}

interface Claims {
  readonly username: string;
  readonly revision: number;
}

export class JwtTokens implements TokenProvider {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor(private readonly options: JwtOptions) {
    this.privateKey = createPrivateKey(readFileSync(options.privateKeyFile));
    this.publicKey = createPublicKey(readFileSync(options.publicKeyFile));
  }

  issue(grant: TokenGrant): string {
    const claims: Claims & { exp: number } = {
      username: grant.user,
      revision: grant.authRevision,
      exp: Math.floor((grant.issuedAtMs + this.options.ttlMs) / 1000),
    };
    return jwt.sign(claims, this.privateKey, { algorithm: this.options.signMethod, noTimestamp: true });
  }

  use(token: string, nowMs: number): IssuedToken | null {
    try {
      const claims = jwt.verify(token, this.publicKey, {
        algorithms: [this.options.signMethod],
        clockTimestamp: Math.floor(nowMs / 1000),
      });
      if (
        typeof claims !== 'object' ||
        typeof claims.username !== 'string' ||
        typeof claims.revision !== 'number'
      ) {
        return null;
      }
      return { user: claims.username, authRevision: claims.revision };
    } catch {
      // A bad signature, an expired token or malformed text: all mean "invalid auth token".
      return null;
    }
  }

  /** JWTs cannot be recalled; the auth revision in them ends them at the next auth change. */
  invalidateUser(): void {}

  clear(): void {}

  snapshot(): [string, string, number][] {
    return [];
  }

  restore(): void {}
}
