// Who a Basic username and secret stand for, on every surface that takes Basic (/v2, /v2/auth, /api/v1).
import type { Queryable } from '../db/index.js';
import { verifyCredentialsSealed } from './accounts.js';
import { verifyAccessToken } from './oauth-tokens.js';
import type { Identity } from './policy.js';
import { robotTokenGeneration, type CredentialMark } from './registry-token.js';
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
  return (await identifyBasicCredential(db, keys, username, secret, opts))?.identity ?? null;
}

/**
 * identifyBasic, with the credential the secret was (see CredentialMark): a registry token minted
 * from this login names it, and dies when the robot token is regenerated or the OAuth token revoked.
 */
export async function identifyBasicCredential(
  db: Queryable, keys: Keys, username: string, secret: string, opts: { robotsDisallowed?: boolean } = {},
): Promise<{ identity: Identity; credential: CredentialMark } | null> {
  if (username === OAUTH_TOKEN_USERNAME) {
    const found = await verifyAccessToken(db, secret);
    return found && { identity: { kind: 'user', account: found.account, scopes: found.scopes }, credential: { oat: found.tokenId } };
  }
  const found = await verifyCredentialsSealed(db, keys, username, secret, opts);
  if (!found) return null;
  const { account, sealedToken } = found;
  if (account.kind !== 'robot') return { identity: { kind: 'user', account }, credential: {} };
  return { identity: { kind: 'robot', account }, credential: { rgen: robotTokenGeneration(sealedToken!) } };
}
