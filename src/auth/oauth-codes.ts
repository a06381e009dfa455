// Authorization codes of the OAuth code flow: short-lived, single-use, stored hashed.
import type { Queryable } from '../db/index.js';
import { getAccountById, type Account } from './accounts.js';
import type { OAuthApplication } from './oauth-apps.js';
import { hashMatches, issueAccessToken, lookupKeyOf, newSecret, type AccessTokenRecord } from './oauth-tokens.js';
import { parseScopes, type Scope } from './scopes.js';

/** RFC 6749 §4.1.2 recommends at most ten minutes. */
export const CODE_LIFETIME_MS = 10 * 60 * 1000;

/** Why a code was refused, in RFC 6749's words; the /oauth surface maps each to its wire error. */
export class OAuthGrantError extends Error {
  override name = 'OAuthGrantError';
  constructor(
    readonly code: 'invalid_grant' | 'invalid_request',
    message: string,
  ) {
    super(message);
  }
}

export async function createAuthorizationCode(
  db: Queryable,
  input: { app: OAuthApplication; account: Account; scopes: readonly Scope[]; redirectUri: string | null },
): Promise<string> {
  const { secret, lookup, hash } = newSecret();
  const now = Date.now();
  await db('oauth_authorization_codes').insert({
    application_id: input.app.id, account_id: input.account.id, code_name: lookup, code_hash: hash,
    scope: input.scopes.join(' '), redirect_uri: input.redirectUri, expires_at: now + CODE_LIFETIME_MS, created_at: now,
  });
  return secret;
}

type Exchange =
  | { ok: true; record: AccessTokenRecord; token: string }
  | { ok: false; error: OAuthGrantError };

/**
 * Trades a code for an access token, once. A code presented a second time is refused and, as
 * RFC 6749 §4.1.2 advises, the tokens issued for it are revoked: the replay means it leaked.
 */
export async function exchangeAuthorizationCode(
  db: Queryable,
  input: { app: OAuthApplication; code: string; redirectUri: string | undefined },
): Promise<{ record: AccessTokenRecord; token: string }> {
  const result: Exchange = await db.transaction(async (tx): Promise<Exchange> => {
    const fail = (code: OAuthGrantError['code'], message: string): Exchange => ({ ok: false, error: new OAuthGrantError(code, message) });
    const lookup = lookupKeyOf(input.code);
    const row = lookup ? await tx('oauth_authorization_codes').where({ code_name: lookup }).first() : undefined;
    if (!row || !hashMatches(input.code, row.code_hash) || Number(row.application_id) !== input.app.id) {
      return fail('invalid_grant', 'the authorization code is unknown or was issued to another client');
    }
    if (row.used_at !== null) {
      await tx('oauth_access_tokens').where({ authorization_code_id: row.id }).delete();
      return fail('invalid_grant', 'the authorization code was already used; the tokens issued for it are revoked');
    }
    if (Number(row.expires_at) <= Date.now()) return fail('invalid_grant', 'the authorization code has expired');
    if (row.redirect_uri !== null && row.redirect_uri !== input.redirectUri) {
      return fail('invalid_grant', 'redirect_uri must be the one sent to /oauth/authorize');
    }
    // The guard on used_at makes two concurrent exchanges of one code yield one token.
    const claimed = await tx('oauth_authorization_codes').where({ id: row.id }).whereNull('used_at').update({ used_at: Date.now() });
    if (claimed !== 1) return fail('invalid_grant', 'the authorization code was already used');
    const account = await getAccountById(tx, Number(row.account_id));
    if (!account?.enabled) return fail('invalid_grant', 'the user who granted the code is disabled or gone');
    const issued = await issueAccessToken(tx, {
      applicationId: input.app.id, account, scopes: parseScopes(String(row.scope)).scopes, authorizationCodeId: Number(row.id),
    });
    return { ok: true, ...issued };
  });
  if (!result.ok) throw result.error;
  return { record: result.record, token: result.token };
}
