// OAuth access tokens: issued by the code flow or minted directly, stored only as a hash.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/index.js';
import { getAccountById, type Account } from './accounts.js';
import { parseScopes, type Scope, type ScopeSet } from './scopes.js';

/** As Quay: tokens last ten years unless told otherwise. */
export const DEFAULT_TOKEN_LIFETIME_S = 10 * 365 * 24 * 3600;
/** Tokens (and codes) are 40 characters, the first 20 a non-secret lookup key (Quay's token_name). */
const SECRET_LENGTH = 40;
const LOOKUP_LENGTH = 20;
/** A token's use is recorded at most this often, so that a busy script does not write on every call. */
const LAST_ACCESSED_GRANULARITY_MS = 60_000;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of [A-Za-z0-9], unbiased (bytes past the last whole alphabet are redrawn). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALPHABET[b % ALPHABET.length];
    }
  }
  return out;
}

export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A fresh secret, its lookup key and the hash to store; the secret itself is shown once. */
export function newSecret(): { secret: string; lookup: string; hash: string } {
  const secret = randomAlphanumeric(SECRET_LENGTH);
  return { secret, lookup: secret.slice(0, LOOKUP_LENGTH), hash: sha256Hex(secret) };
}

/** The lookup key of a presented secret, or null when it cannot be one of ours. */
export function lookupKeyOf(secret: string): string | null {
  return secret.length === SECRET_LENGTH && /^[A-Za-z0-9]+$/.test(secret) ? secret.slice(0, LOOKUP_LENGTH) : null;
}

export function hashMatches(secret: string, storedHex: string): boolean {
  const a = Buffer.from(sha256Hex(secret), 'hex');
  const b = Buffer.from(storedHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface AccessTokenRecord {
  id: number;
  uuid: string;
  application_id: number;
  account_id: number;
  /** The user the token acts as. */
  account_name: string;
  scope: string;
  display_name: string | null;
  expires_at: number | null;
  created_at: number;
  last_accessed: number | null;
}

function tokenQuery(db: Queryable) {
  return db('oauth_access_tokens as t')
    .join('accounts as a', 'a.id', 't.account_id')
    .select('t.id', 't.uuid', 't.application_id', 't.account_id', 'a.name as account_name', 't.scope', 't.display_name', 't.expires_at', 't.created_at', 't.last_accessed');
}

function toRecord(row: Record<string, unknown>): AccessTokenRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(row.id), uuid: String(row.uuid), application_id: Number(row.application_id),
    account_id: Number(row.account_id), account_name: String(row.account_name), scope: String(row.scope),
    display_name: (row.display_name as string | null) ?? null, expires_at: num(row.expires_at),
    created_at: Number(row.created_at), last_accessed: num(row.last_accessed),
  };
}

export interface IssueTokenInput {
  applicationId: number;
  account: Account;
  scopes: readonly Scope[];
  displayName?: string | null;
  lifetimeS?: number;
  authorizationCodeId?: number;
}

/** Stores a new token for the user; the returned `token` is the only time its secret exists in clear. */
export async function issueAccessToken(db: Queryable, input: IssueTokenInput): Promise<{ record: AccessTokenRecord; token: string }> {
  const { secret, lookup, hash } = newSecret();
  const now = Date.now();
  const [row] = await db('oauth_access_tokens')
    .insert({
      uuid: randomUUID(), application_id: input.applicationId, account_id: input.account.id,
      scope: input.scopes.join(' '), display_name: input.displayName ?? null,
      token_name: lookup, token_hash: hash, authorization_code_id: input.authorizationCodeId ?? null,
      expires_at: now + (input.lifetimeS ?? DEFAULT_TOKEN_LIFETIME_S) * 1000, created_at: now,
    })
    .returning(['id']);
  const record = toRecord(await tokenQuery(db).where('t.id', Number(row.id)).first());
  return { record, token: secret };
}

/**
 * The user and scopes behind an OAuth access token, or null when it is unknown, expired or its
 * user is disabled.
 */
export async function verifyAccessToken(db: Queryable, token: string): Promise<{ account: Account; scopes: ScopeSet; tokenId: number } | null> {
  const lookup = lookupKeyOf(token);
  if (!lookup) return null;
  const row = await db('oauth_access_tokens').where({ token_name: lookup }).first('id', 'account_id', 'scope', 'token_hash', 'expires_at', 'last_accessed');
  if (!row || !hashMatches(token, row.token_hash)) return null;
  const now = Date.now();
  if (row.expires_at !== null && Number(row.expires_at) <= now) return null;
  const account = await getAccountById(db, Number(row.account_id));
  if (!account || account.kind !== 'user' || !account.enabled) return null;
  if (now - Number(row.last_accessed ?? 0) > LAST_ACCESSED_GRANULARITY_MS) {
    await db('oauth_access_tokens').where({ id: row.id }).update({ last_accessed: now });
  }
  return { account, scopes: new Set(parseScopes(String(row.scope)).scopes), tokenId: Number(row.id) };
}

export async function listApplicationTokens(db: Queryable, applicationId: number): Promise<AccessTokenRecord[]> {
  const rows = await tokenQuery(db).where('t.application_id', applicationId).orderBy([{ column: 't.created_at', order: 'desc' }, { column: 't.id', order: 'desc' }]);
  return rows.map(toRecord);
}

/** Revokes one of the application's tokens; null when it has no token with that uuid. */
export async function revokeApplicationToken(db: Queryable, applicationId: number, uuid: string): Promise<AccessTokenRecord | null> {
  const row = await tokenQuery(db).where({ 't.application_id': applicationId, 't.uuid': uuid }).first();
  if (!row) return null;
  await db('oauth_access_tokens').where({ id: row.id }).delete();
  return toRecord(row);
}
