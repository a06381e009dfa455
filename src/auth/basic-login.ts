// Who a Basic username and secret stand for, on every surface that takes Basic (/v2, /v2/auth, /api/v1).
import type { Queryable } from '../db/index.js';
import { verifyCredentials } from './accounts.js';
import { verifyAccessToken } from './oauth-tokens.js';
import type { Identity } from './policy.js';
import type { Keys } from './secret-key.js';

/** The username `docker login` is given to log in with an OAuth access token as the password (Quay's). */
export const OAUTH_TOKEN_USERNAME = '$oauthtoken';

/**
 * A user (password), a robot (its token), or a user acting through an OAuth token (`$oauthtoken`
 * with the token as password, capped by the token's scopes); null when the secret does not match.
 */
export async function identifyBasic(
  db: Queryable, keys: Keys, username: string, secret: string, opts: { robotsDisallowed?: boolean } = {},
): Promise<Identity | null> {
  if (username === OAUTH_TOKEN_USERNAME) {
    const found = await verifyAccessToken(db, secret);
    return found ? { kind: 'user', account: found.account, scopes: found.scopes } : null;
  }
  const account = await verifyCredentials(db, keys, username, secret, opts);
  if (!account) return null;
  return { kind: account.kind === 'robot' ? 'robot' : 'user', account };
}
