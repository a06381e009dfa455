import type { FastifyRequest } from 'fastify';
import { identifyBasic } from '../auth/basic-login.js';
import { parseBasic } from '../auth/credentials.js';
import { verifyAccessToken } from '../auth/oauth-tokens.js';
import { ANONYMOUS, type Identity } from '../auth/policy.js';
import type { Keys } from '../auth/secret-key.js';
import type { Db } from '../db/index.js';
import { DomainError } from '../errors.js';
import { identifyWebSession } from './session.js';

/**
 * Who calls /api/v1: an OAuth bearer token (capped by its scopes), Basic with a user's password
 * (for scripts and curl) or with `$oauthtoken` and a token, the web session's cookie (only when
 * there is no Authorization header), or nobody. Robots use the registry only, as in Quay.
 */
export async function identifyApiCaller(db: Db, keys: Keys, req: FastifyRequest): Promise<Identity> {
  const header = req.headers.authorization;
  if (!header) return (await identifyWebSession(db, req)) ?? ANONYMOUS;
  if (/^bearer /i.test(header)) {
    const found = await verifyAccessToken(db, header.slice(7).trim());
    if (!found) throw new DomainError('unauthenticated', 'the OAuth access token is invalid, expired or revoked');
    return { kind: 'user', account: found.account, scopes: found.scopes };
  }
  const basic = parseBasic(header);
  if (basic) {
    const identity = await identifyBasic(db, keys, basic.username, basic.password);
    if (!identity) throw new DomainError('unauthenticated', 'invalid username or password');
    if (identity.kind === 'robot') throw new DomainError('unauthenticated', 'robot accounts cannot use the API; they work with the registry only');
    return identity;
  }
  throw new DomainError('unauthenticated', 'unsupported Authorization scheme: use Bearer or Basic');
}
