import { jwtVerify, SignJWT } from 'jose';
import type { Identity, RegistryAction } from './policy.js';

export interface AccessEntry {
  type: 'repository';
  name: string;
  actions: RegistryAction[];
}

export interface RegistryClaims {
  sub: string;
  /** user | robot | anonymous */
  kind: Identity['kind'];
  /** The account id, or 0 for anonymous. */
  aid: number;
  access: AccessEntry[];
  exp: number;
  /** The OAuth scopes (space-separated) when the token was issued for `$oauthtoken`. */
  scp?: string;
}

const ISSUER = 'slipway';

export interface RegistryTokens {
  /** `opts.lifetimeS` shortens the token (never lengthens it past the configured lifetime). */
  issue(identity: Identity, access: AccessEntry[], opts?: { lifetimeS?: number }): Promise<{ token: string; expiresIn: number; issuedAt: Date }>;
  /** The token's claims, or null when it is not one of ours, expired or tampered with. */
  verify(token: string): Promise<RegistryClaims | null>;
}

export function createRegistryTokens(opts: { key: Uint8Array; service: string; lifetimeS: number }): RegistryTokens {
  // Verifying a JWT costs more than serving a small manifest; clients reuse one token for many
  // requests, so verified claims are remembered until shortly before they expire.
  const cache = new Map<string, RegistryClaims>();
  const CACHE_MAX = 10_000;

  return {
    async issue(identity, access, issueOpts) {
      const issuedAt = new Date();
      const lifetimeS = Math.max(1, Math.min(opts.lifetimeS, Math.floor(issueOpts?.lifetimeS ?? opts.lifetimeS)));
      const token = await new SignJWT({
        access,
        kind: identity.kind,
        aid: identity.kind === 'anonymous' ? 0 : identity.account.id,
        ...(identity.kind !== 'anonymous' && identity.scopes && identity.scopes !== 'all' ? { scp: [...identity.scopes].join(' ') } : {}),
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setAudience(opts.service)
        .setSubject(identity.kind === 'anonymous' ? '(anonymous)' : identity.account.name)
        .setIssuedAt(Math.floor(issuedAt.getTime() / 1000))
        .setNotBefore(Math.floor(issuedAt.getTime() / 1000) - 30)
        .setExpirationTime(Math.floor(issuedAt.getTime() / 1000) + lifetimeS)
        .sign(opts.key);
      return { token, expiresIn: lifetimeS, issuedAt };
    },
    async verify(token) {
      const now = Date.now() / 1000;
      const hit = cache.get(token);
      if (hit) {
        if (hit.exp > now) return hit;
        cache.delete(token);
      }
      try {
        const { payload } = await jwtVerify(token, opts.key, { issuer: ISSUER, audience: opts.service, clockTolerance: 30 });
        const claims = payload as unknown as RegistryClaims;
        if (!Array.isArray(claims.access) || typeof claims.sub !== 'string') return null;
        if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
        cache.set(token, claims);
        return claims;
      } catch {
        return null;
      }
    },
  };
}
