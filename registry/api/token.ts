import type { FastifyReply, FastifyRequest } from 'fastify';
import { identifyBasicCredential } from '../../src/auth/basic-login.js';
import { ANONYMOUS, REGISTRY_ACTIONS, type Identity, type RegistryAction } from '../../src/auth/policy.js';
import type { AccessEntry, CredentialMark } from '../../src/auth/registry-token.js';
import { regErr } from '../errors.js';
import { parseBasic } from '../../src/auth/credentials.js';
import { callerIdentity, liveActions, tokenAsPassword, tokenCaller } from './access.js';
import type { RegistryDeps } from './context.js';

// `repository:NAME:ACTIONS`
const SCOPE_RE = /^repository:([a-z0-9._\/-]+):([a-z*,]+)$/;

function parseScopes(raw: string | string[] | undefined): { name: string; actions: RegistryAction[] }[] {
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const out: { name: string; actions: RegistryAction[] }[] = [];
  // Clients send several scopes either as repeated parameters or space-separated.
  for (const scope of list.flatMap((s) => s.split(' ')).filter(Boolean)) {
    if (scope.startsWith('registry:catalog:')) continue; // the catalog is filtered per caller instead
    const m = SCOPE_RE.exec(scope);
    if (!m) throw regErr('NAME_INVALID', `invalid scope ${JSON.stringify(scope)}`);
    const name = m[1]!;
    const actions = m[2]!.split(',').filter((a): a is RegistryAction => (REGISTRY_ACTIONS as readonly string[]).includes(a));
    out.push({ name, actions });
  }
  return out;
}

/** `GET /v2/auth`: Basic credentials (or none) in, a bearer token with the granted actions out. */
export function tokenHandler(deps: RegistryDeps) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const query = req.query as Record<string, string | string[] | undefined>;
    const basic = parseBasic(req.headers.authorization);
    let identity: Identity = ANONYMOUS;
    let credential: CredentialMark = {};
    const scopes = parseScopes(query.scope);
    const delegated = basic ? await tokenAsPassword(deps, basic) : null;
    if (delegated) {
      // A token exchanged for a token: the new one grants at most what the old one did.
      const granted = (name: string) => new Set(delegated.access.find((a) => a.type === 'repository' && a.name === name)?.actions ?? []);
      const access: AccessEntry[] = scopes.map((s) => ({ type: 'repository', name: s.name, actions: s.actions.filter((a) => granted(s.name).has(a)) }));
      // The OAuth scopes travel too: a `$oauthtoken` token's exchange must not shed its repo:create cap.
      const owner = await callerIdentity(deps, tokenCaller(delegated));
      // ...lives no longer, so exchanging it again and again cannot extend it, and dies with the same credential.
      const { token, expiresIn, issuedAt } = await deps.tokens.issue(owner, access, {
        lifetimeS: delegated.exp - Date.now() / 1000, credential: { rgen: delegated.rgen, oat: delegated.oat },
      });
      reply.header('cache-control', 'no-store');
      return { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt.toISOString() };
    }
    if (basic) {
      const found = await identifyBasicCredential(deps.db, deps.keys, basic.username, basic.password, { robotsDisallowed: deps.config.ROBOTS_DISALLOW });
      if (!found) throw regErr('UNAUTHORIZED', 'invalid username or password');
      ({ identity, credential } = found);
    } else if (req.headers.authorization) {
      throw regErr('UNAUTHORIZED', 'the token endpoint takes Basic credentials');
    }
    if (identity.kind === 'anonymous' && scopes.length === 0 && !deps.config.FEATURE_ANONYMOUS_ACCESS) {
      throw regErr('UNAUTHORIZED', 'authentication required');
    }
    const access: AccessEntry[] = [];
    for (const s of scopes) {
      access.push({ type: 'repository', name: s.name, actions: await liveActions(deps, identity, s.name, s.actions) });
    }
    const { token, expiresIn, issuedAt } = await deps.tokens.issue(identity, access, { credential });
    reply.header('cache-control', 'no-store');
    return { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt.toISOString() };
  };
}
