// /oauth: the authorization-code flow (and the implicit one) of RFC 6749, with its own error
// vocabulary ({error, error_description}). There is no web UI yet: the user consents by calling
// /oauth/authorize with Basic credentials (a password; never a token, which must not beget another),
// or through the web session: GET then only describes the consent, and POST (with the session's
// CSRF token) gives it, so that a link followed in a signed-in browser grants nothing.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { identifyBasic, OAUTH_TOKEN_USERNAME } from '../auth/basic-login.js';
import { parseBasic } from '../auth/credentials.js';
import { authenticateClient, findApplicationByClientId, redirectUriAllowed, type OAuthApplication } from '../auth/oauth-apps.js';
import { createAuthorizationCode, exchangeAuthorizationCode, OAuthGrantError } from '../auth/oauth-codes.js';
import { DEFAULT_TOKEN_LIFETIME_S, issueAccessToken, type AccessTokenRecord } from '../auth/oauth-tokens.js';
import { ungrantableScope, type Identity } from '../auth/policy.js';
import { parseScopes } from '../auth/scopes.js';
import { recordLog } from '../audit/usage-log.js';
import { getAccountById, type Account } from '../auth/accounts.js';
import { DomainError } from '../errors.js';
import { requireCsrfToken, webSessionOf } from './session.js';
import type { ApiDeps } from './context.js';

type FlowErrorCode =
  | 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type'
  | 'invalid_scope' | 'access_denied' | 'unsupported_response_type' | 'server_error';

/** An error answered directly (never redirected): a bad client, redirect URI, or user credentials. */
class OAuthFlowError extends Error {
  constructor(readonly status: number, readonly code: FlowErrorCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

const BASIC_CHALLENGE = { 'www-authenticate': 'Basic realm="Slipway OAuth", charset="UTF-8"' };
const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The application and the redirect URI to answer at, checked before anything is redirected there. */
async function clientAndRedirect(deps: ApiDeps, q: Record<string, unknown>): Promise<{ app: OAuthApplication; redirect: string; given: string | null }> {
  const clientId = one(q.client_id);
  if (!clientId) throw new OAuthFlowError(400, 'invalid_request', 'client_id is required');
  const app = await findApplicationByClientId(deps.db, clientId);
  if (!app) throw new OAuthFlowError(400, 'invalid_client', `no application has client_id ${clientId}`);
  const given = one(q.redirect_uri) ?? null;
  const redirect = given ?? app.redirect_uri;
  if (!redirect || !redirectUriAllowed(app, redirect)) {
    throw new OAuthFlowError(400, 'invalid_request', given ? `redirect_uri ${given} is not under the application's registered redirect URI` : 'the application has no redirect URI registered');
  }
  return { app, redirect, given };
}

/** The signed-in user consenting: Basic with a password, or else the web session. */
async function consentingUser(deps: ApiDeps, req: FastifyRequest, q: Record<string, unknown>): Promise<{ account: Account; bySession: boolean }> {
  const basic = parseBasic(req.headers.authorization);
  if (!basic && !req.headers.authorization) {
    const session = await webSessionOf(deps.db, req);
    if (session) {
      if (req.method !== 'GET') {
        try {
          requireCsrfToken(session, req, one(q._csrf_token));
        } catch (err) {
          if (err instanceof DomainError) throw new OAuthFlowError(403, 'access_denied', err.message);
          throw err;
        }
      }
      return { account: session.account, bySession: true };
    }
  }
  if (!basic) throw new OAuthFlowError(401, 'access_denied', 'sign in: send your username and password (Basic), or sign in to a web session (POST /api/v1/signin), to authorize the application', BASIC_CHALLENGE);
  if (basic.username === OAUTH_TOKEN_USERNAME) throw new OAuthFlowError(401, 'access_denied', 'an OAuth token cannot authorize applications; sign in with your password', BASIC_CHALLENGE);
  let identity: Identity | null;
  try {
    identity = await identifyBasic(deps.db, deps.keys, basic.username, basic.password, { robotsDisallowed: deps.config.ROBOTS_DISALLOW });
  } catch (err) {
    if (err instanceof DomainError) throw new OAuthFlowError(401, 'access_denied', err.message, BASIC_CHALLENGE);
    throw err;
  }
  if (!identity || identity.kind !== 'user') throw new OAuthFlowError(401, 'access_denied', 'invalid username or password', BASIC_CHALLENGE);
  return { account: identity.account, bySession: false };
}

function redirectWith(reply: FastifyReply, base: string, params: Record<string, string | undefined>, inFragment = false): FastifyReply {
  const url = new URL(base);
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  if (inFragment) url.hash = new URLSearchParams(entries).toString();
  else for (const [k, v] of entries) url.searchParams.set(k, v);
  return reply.code(302).header('cache-control', 'no-store').redirect(url.toString(), 302);
}

async function logIssued(deps: ApiDeps, ip: string, app: OAuthApplication, user: { id: number; name: string }, record: AccessTokenRecord, method: string): Promise<void> {
  const org = await getAccountById(deps.db, app.org_id);
  await recordLog(deps.db, {
    kind: 'create_oauth_api_token', performer: { kind: 'user', accountId: user.id, name: user.name }, ip,
    namespace: org ? { id: org.id, name: org.name } : null,
    metadata: { oauth_token_uuid: record.uuid, scope: record.scope, application_name: app.name, client_id: app.client_id, auth_method: method },
  });
}

async function authorizeHandler(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply, q: Record<string, unknown>) {
  const { app, redirect, given } = await clientAndRedirect(deps, q);
  const state = one(q.state);
  const fail = (error: FlowErrorCode, description: string) => redirectWith(reply, redirect, { error, error_description: description, state });
  const responseType = one(q.response_type);
  if (responseType !== 'code' && responseType !== 'token') return fail('unsupported_response_type', 'response_type must be code or token');
  const { scopes, unknown } = parseScopes(one(q.scope) ?? '');
  if (unknown.length) return fail('invalid_scope', `unknown scope(s): ${unknown.join(' ')}`);
  if (!scopes.length) return fail('invalid_scope', 'name at least one scope');
  const { account, bySession } = await consentingUser(deps, req, q);
  const refused = ungrantableScope({ kind: 'user', account }, scopes);
  if (refused) return fail('invalid_scope', refused.reason);
  if (bySession && req.method === 'GET') {
    // What a consent page would show; the grant itself needs the POST.
    return reply.header('cache-control', 'no-store').send({
      application: { name: app.name, client_id: app.client_id, description: app.description, url: app.application_uri },
      user: account.name, scope: scopes.join(' '), redirect_uri: redirect,
      consent: 'POST /oauth/authorize with these parameters and the X-CSRF-Token header to grant this access',
    });
  }
  if (responseType === 'code') {
    const code = await createAuthorizationCode(deps.db, { app, account, scopes, redirectUri: given });
    return redirectWith(reply, redirect, { code, state });
  }
  const { record, token } = await issueAccessToken(deps.db, { applicationId: app.id, account, scopes });
  await logIssued(deps, req.ip, app, account, record, 'implicit');
  return redirectWith(reply, redirect, { access_token: token, token_type: 'Bearer', expires_in: String(DEFAULT_TOKEN_LIFETIME_S), scope: record.scope, state }, true);
}

/** The client, by Basic (RFC 6749 §2.3.1: form-encoded id and secret) or by client_id and client_secret in the body. */
async function authenticatedClient(deps: ApiDeps, req: FastifyRequest, body: Record<string, unknown>): Promise<OAuthApplication> {
  const basic = parseBasic(req.headers.authorization);
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  const id = basic ? decode(basic.username) : one(body.client_id);
  const secret = basic ? decode(basic.password) : one(body.client_secret);
  if (!id || !secret) throw new OAuthFlowError(401, 'invalid_client', 'authenticate the client: Basic client_id:client_secret, or both in the body', BASIC_CHALLENGE);
  const app = await authenticateClient(deps.db, deps.keys, id, secret);
  if (!app) throw new OAuthFlowError(401, 'invalid_client', 'unknown client_id or wrong client_secret', basic ? BASIC_CHALLENGE : {});
  if (basic && one(body.client_id) !== undefined && one(body.client_id) !== id) {
    throw new OAuthFlowError(400, 'invalid_request', 'client_id in the body differs from the authenticated client');
  }
  return app;
}

async function accessTokenHandler(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply) {
  const body = (req.body ?? {}) as Record<string, unknown>;
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  const grantType = one(body.grant_type);
  if (!grantType) throw new OAuthFlowError(400, 'invalid_request', 'grant_type is required');
  if (grantType !== 'authorization_code') throw new OAuthFlowError(400, 'unsupported_grant_type', 'only grant_type=authorization_code is supported');
  const app = await authenticatedClient(deps, req, body);
  const code = one(body.code);
  if (!code) throw new OAuthFlowError(400, 'invalid_request', 'code is required');
  const { record, token } = await exchangeAuthorizationCode(deps.db, { app, code, redirectUri: one(body.redirect_uri) });
  await logIssued(deps, req.ip, app, { id: record.account_id, name: record.account_name }, record, 'authorization_code');
  return {
    access_token: token, token_type: 'Bearer',
    expires_in: record.expires_at === null ? DEFAULT_TOKEN_LIFETIME_S : Math.max(0, Math.floor((record.expires_at - Date.now()) / 1000)),
    scope: record.scope,
  };
}

function sendFlowError(reply: FastifyReply, status: number, error: FlowErrorCode, description: string, headers: Record<string, string> = {}) {
  return reply.code(status).headers(headers).header('cache-control', 'no-store').send({ error, error_description: description });
}

export async function oauthFlowRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // Token requests are form-encoded (RFC 6749 §4.1.3); JSON is accepted too.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof OAuthFlowError) return sendFlowError(reply, err.status, err.code, err.message, err.headers);
    if (err instanceof OAuthGrantError) return sendFlowError(reply, 400, err.code, err.message);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return sendFlowError(reply, status, 'invalid_request', (err as Error).message);
    req.log.error({ err }, 'oauth request failed');
    return sendFlowError(reply, 500, 'server_error', 'internal server error');
  });
  app.get('/authorize', (req, reply) => authorizeHandler(deps, req, reply, req.query as Record<string, unknown>));
  // The consent a page's form (or a script) posts: the parameters in the query or the body.
  app.post('/authorize', (req, reply) => {
    const body = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
    return authorizeHandler(deps, req, reply, { ...(req.query as Record<string, unknown>), ...body });
  });
  app.post('/access_token', (req, reply) => accessTokenHandler(deps, req, reply));
}
