// Web sessions: a random cookie value shown to the browser once, stored only as its SHA-256.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/index.js';
import { toAccount, type Account } from './accounts.js';
import { sha256Hex } from './oauth-tokens.js';

/** A session's use is recorded at most this often, so that a busy page does not write on every call. */
const LAST_USED_GRANULARITY_MS = 60_000;

export interface WebSession {
  /** The SHA-256 of the cookie value: what the table holds. */
  id: string;
  account: Account;
  csrfToken: string;
  expiresAt: number;
}

const randomToken = () => randomBytes(32).toString('base64url');

/** Starts a session for a user; `cookie` is the only copy of the secret, for the Set-Cookie header. */
export async function startSession(db: Queryable, account: Account, lifetimeS: number): Promise<{ cookie: string; session: WebSession }> {
  const cookie = randomToken();
  const now = Date.now();
  // Sessions nobody presents again would stay forever: each sign-in sweeps the expired ones.
  await db('sessions').where('expires_at', '<=', now).delete();
  const session: WebSession = { id: sha256Hex(cookie), account, csrfToken: randomToken(), expiresAt: now + lifetimeS * 1000 };
  await db('sessions').insert({
    id: session.id, account_id: account.id, csrf_token: session.csrfToken, created_at: now, expires_at: session.expiresAt, last_used_at: now,
  });
  return { cookie, session };
}

/**
 * The live session a cookie value stands for, or null. An expired session is deleted on sight; a
 * disabled user's sessions are kept (refused while disabled) so that enabling the user again restores them.
 */
export async function findSession(db: Queryable, cookie: string): Promise<WebSession | null> {
  const id = sha256Hex(cookie);
  const row = await db('sessions as s').join('accounts as a', 'a.id', 's.account_id').where('s.id', id)
    .select('a.*', 's.csrf_token as session_csrf_token', 's.expires_at as session_expires_at', 's.last_used_at as session_last_used_at')
    .first();
  if (!row) return null;
  const now = Date.now();
  if (Number(row.session_expires_at) <= now) {
    await db('sessions').where({ id }).delete();
    return null;
  }
  const account = toAccount(row);
  if (account.kind !== 'user' || !account.enabled) return null;
  if (now - Number(row.session_last_used_at) > LAST_USED_GRANULARITY_MS) {
    await db('sessions').where({ id }).update({ last_used_at: now });
  }
  return { id, account, csrfToken: String(row.session_csrf_token), expiresAt: Number(row.session_expires_at) };
}

export function csrfTokenMatches(session: WebSession, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function endSession(db: Queryable, session: WebSession): Promise<void> {
  await db('sessions').where({ id: session.id }).delete();
}

/** Ends every session of a user (a password change: whoever held one must prove the new password). */
export async function endSessionsOf(db: Queryable, accountId: number): Promise<void> {
  await db('sessions').where({ account_id: accountId }).delete();
}
