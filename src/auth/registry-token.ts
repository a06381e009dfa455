import { createHash } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Identity, RegistryAction } from './policy.js';
import type { Queryable } from '../db/index.js';
import { preparedFirst } from '../db/prepared.js';

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
  /** Robots: which of the robot's tokens this one was minted from (see robotTokenGeneration). */
  rgen?: string;
  /** `$oauthtoken` logins: the id of the OAuth access token it was minted from. */
  oat?: number;
}

/** The credential a registry token was minted from, so that it dies with that credential. */
export interface CredentialMark {
  rgen?: string;
  oat?: number;
}

/**
 * A short mark of a robot's stored (sealed) token. Sealing draws a fresh IV, so regenerating the
 * token changes the mark; the mark says nothing about the token itself.
 */
export function robotTokenGeneration(sealed: string): string {
  return createHash('sha256').update(sealed).digest('base64url').slice(0, 16);
}

const ISSUER = 'slipway';

export interface RegistryTokens {
  /** `opts.lifetimeS` shortens the token (never lengthens it past the configured lifetime). */
  issue(identity: Identity, access: AccessEntry[], opts?: { lifetimeS?: number; credential?: CredentialMark }): Promise<{ token: string; expiresIn: number; issuedAt: Date }>;
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
        ...(issueOpts?.credential?.rgen !== undefined ? { rgen: issueOpts.credential.rgen } : {}),
        ...(issueOpts?.credential?.oat !== undefined ? { oat: issueOpts.credential.oat } : {}),
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

interface StandingRow {
  name: string;
  kind: string;
  enabled: boolean | number;
  token_enc: string | null;
  parent_enabled: boolean | number | null;
  oauth_id: number | string | null;
  oauth_expires_at: number | string | null;
}

// Every bearer request asks this, so it is one primary-key read, prepared.
const standing = preparedFirst<StandingRow>('registry-token-standing', `SELECT a.name, a.kind, a.enabled, a.token_enc,
    p.enabled AS parent_enabled, t.id AS oauth_id, t.expires_at AS oauth_expires_at
  FROM accounts a
  LEFT JOIN accounts p ON p.id = a.parent_id
  LEFT JOIN oauth_access_tokens t ON t.id = ? AND t.account_id = a.id
  WHERE a.id = ?`);

/**
 * Whether what a token was minted from still stands: its account exists under the same name and
 * kind and is enabled (a robot's namespace too), a robot's token has not been regenerated since,
 * and the OAuth token behind a `$oauthtoken` login is neither revoked nor expired. A password
 * change leaves tokens standing, as in Quay: they are short-lived, and disabling the user ends them.
 */
export async function credentialStands(db: Queryable, claims: RegistryClaims, now = Date.now()): Promise<boolean> {
  if (claims.kind === 'anonymous') return true;
  const row = await standing(db, [claims.oat ?? 0, claims.aid]);
  if (!row || row.name !== claims.sub || row.kind !== claims.kind || !row.enabled) return false;
  if (claims.kind === 'robot') {
    if (row.parent_enabled !== null && !row.parent_enabled) return false;
    if (!row.token_enc || claims.rgen !== robotTokenGeneration(row.token_enc)) return false;
  }
  if (claims.oat !== undefined) {
    if (row.oauth_id === null) return false;
    if (row.oauth_expires_at !== null && Number(row.oauth_expires_at) <= now) return false;
  }
  return true;
}
