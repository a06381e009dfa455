// The web session, as Quay's web app uses it: POST /api/v1/signin sets an HttpOnly cookie, and every
// request the cookie authenticates that changes state carries the session's CSRF token in
// X-CSRF-Token (from GET /csrf_token or the signin answer's X-Next-CSRF-Token header). A cookie is
// read only when the request has no Authorization header: Bearer and Basic win.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { verifyCredentials, type Account } from '../auth/accounts.js';
import type { Identity } from '../auth/policy.js';
import { csrfTokenMatches, endSession, findSession, startSession, type WebSession } from '../auth/sessions.js';
import { recordLog } from '../audit/usage-log.js';
import type { Queryable } from '../db/index.js';
import { DomainError, forbidden } from '../errors.js';
import type { ApiDeps, ApiModule } from './context.js';
import { apiErrorHandler } from './error-table.js';
import { documented } from './route-docs.js';
import { parseInput } from './validate.js';

export const SESSION_COOKIE = 'slipway_session';
export const CSRF_HEADER = 'x-csrf-token';
/** Quay's header for the CSRF token of a session just started. */
const NEXT_CSRF_HEADER = 'x-next-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads no session cookie (signin: a stale cookie must not stand in its way). */
    ignoresWebSession?: boolean;
  }
}

// The session each request came with; a WeakMap so that nothing outlives the request.
const sessionOfRequest = new WeakMap<FastifyRequest, WebSession>();

/** The session cookie's value, by plain parsing: the value is opaque, so no decoding or signing is needed. */
export function sessionCookieOf(req: FastifyRequest): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

function cookieHeader(deps: ApiDeps, value: string, maxAgeS: number): string {
  const secure = deps.config.PREFERRED_URL_SCHEME === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Lax${secure}`;
}

/** The session the request's cookie stands for, whatever the method (no CSRF check), or null. */
export async function webSessionOf(db: Queryable, req: FastifyRequest): Promise<WebSession | null> {
  const cookie = sessionCookieOf(req);
  return cookie ? findSession(db, cookie) : null;
}

/** Throws 403 unless the request carries the session's CSRF token (header, or `_csrf_token` in a form). */
export function requireCsrfToken(session: WebSession, req: FastifyRequest, formValue?: string): void {
  const header = req.headers[CSRF_HEADER];
  const given = typeof header === 'string' ? header : formValue;
  if (!csrfTokenMatches(session, given)) {
    throw forbidden(`CSRF token was invalid or missing: a request signed in by the session cookie that changes anything must send the session's token in the X-CSRF-Token header (GET /csrf_token gives it)`);
  }
}

/**
 * The caller a session cookie stands for, or null when there is none or it has ended (the request is
 * then anonymous, as in Quay). A state-changing request must carry the session's CSRF token.
 */
export async function identifyWebSession(db: Queryable, req: FastifyRequest): Promise<Identity | null> {
  if (req.routeOptions.config?.ignoresWebSession) return null;
  const session = await webSessionOf(db, req);
  if (!session) return null;
  if (!SAFE_METHODS.has(req.method)) requireCsrfToken(session, req);
  sessionOfRequest.set(req, session);
  // A password (session) carries every scope, exactly as Basic with the password does.
  return { kind: 'user', account: session.account };
}

async function beginSession(deps: ApiDeps, reply: FastifyReply, account: Account): Promise<WebSession> {
  const { cookie, session } = await startSession(deps.db, account, deps.config.PERMANENT_SESSION_LIFETIME);
  reply.header('set-cookie', cookieHeader(deps, cookie, deps.config.PERMANENT_SESSION_LIFETIME)).header(NEXT_CSRF_HEADER, session.csrfToken).header('cache-control', 'no-store');
  return session;
}

/**
 * After the caller's password changed (which ended all the user's sessions): a caller signed in by a
 * session gets a fresh one, so the browser that made the change stays signed in and a stolen copy
 * of its old cookie does not.
 */
export async function renewWebSession(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const session = sessionOfRequest.get(req);
  if (session) await beginSession(deps, reply, session.account);
}

const SigninInput = z.strictObject({
  username: z.string().refine((s) => s.trim() !== '', 'is required'),
  password: z.string().refine((s) => s !== '', 'is required'),
});

/** Quay's answer to a refused sign-in (conduct_signin): 403 with these three fields. */
function signinRefused(reply: FastifyReply, message: string) {
  return reply.code(403).send({ needsEmailVerification: false, invalidCredentials: true, message });
}

export const sessionRoutes: ApiModule = (app, deps) => {
  app.post('/signin', { ...documented('Sign in with a password: starts a web session (a cookie); the CSRF token comes in X-Next-CSRF-Token', null), config: { ignoresWebSession: true } }, async (req, reply) => {
    const input = parseInput(SigninInput, req.body);
    // Only robot names hold a '+'.
    if (input.username.includes('+')) return signinRefused(reply, 'robot accounts cannot sign in; robots use the registry only');
    let account: Account | null;
    try {
      account = await verifyCredentials(deps.db, deps.keys, input.username, input.password);
    } catch (err) {
      if (err instanceof DomainError && err.kind === 'unauthenticated') return signinRefused(reply, err.message);
      throw err;
    }
    // verifyCredentials refuses disabled users too, without saying so to whoever guesses names.
    if (!account || account.kind !== 'user') return signinRefused(reply, 'Invalid Username or Password');
    // Signing in replaces the session this browser had, whoever it belonged to.
    const previous = await webSessionOf(deps.db, req);
    if (previous) await endSession(deps.db, previous);
    await beginSession(deps, reply, account);
    await recordLog(deps.db, {
      kind: 'login_success', performer: { kind: 'user', account }, ip: req.ip,
      namespace: { id: account.id, name: account.name }, metadata: { type: 'quayauth', useragent: req.headers['user-agent'] ?? '' },
    });
    return { success: true };
  });

  app.post('/signout', documented('Sign out: ends the web session and clears its cookie', null), async (req, reply) => {
    const session = sessionOfRequest.get(req);
    if (session) {
      await endSession(deps.db, session);
      await recordLog(deps.db, {
        kind: 'logout_success', performer: { kind: 'user', account: session.account }, ip: req.ip,
        namespace: { id: session.account.id, name: session.account.name },
      });
    }
    reply.header('set-cookie', cookieHeader(deps, '', 0)).header('cache-control', 'no-store');
    return { success: true };
  });
};

/** GET /csrf_token at the root, where Quay's web app asks for it. */
export async function csrfTokenRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.setErrorHandler((err, req, reply) => apiErrorHandler(err as Error, reply, req.log));
  app.get('/csrf_token', async (req, reply) => {
    const session = await webSessionOf(deps.db, req);
    if (!session) throw new DomainError('unauthenticated', 'no web session: sign in first (POST /api/v1/signin); the CSRF token belongs to the session');
    reply.header('cache-control', 'no-store');
    return { csrf_token: session.csrfToken };
  });
}
