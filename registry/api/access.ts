import type { FastifyRequest } from 'fastify';
import { findAccount, getAccountById, ROBOTS_DISABLED_MESSAGE, type Account } from '../../src/auth/accounts.js';
import { identifyBasic } from '../../src/auth/basic-login.js';
import { parseScopes } from '../../src/auth/scopes.js';
import { ANONYMOUS, grantRegistryActions, REGISTRY_ACTIONS, type Identity, type RegistryAction } from '../../src/auth/policy.js';
import { splitRepositoryPath } from '../../src/auth/names.js';
import { parseBasic } from '../../src/auth/credentials.js';
import { findRepository } from '../../src/repos/repositories.js';
import { credentialStands, type RegistryClaims } from '../../src/auth/registry-token.js';
import { regErr } from '../errors.js';
import type { Caller, RegistryDeps } from './context.js';


/** The actions an identity holds on `ns/repo`, computed from the database. */
export async function liveActions(deps: RegistryDeps, identity: Identity, name: string, requested: readonly RegistryAction[] = REGISTRY_ACTIONS): Promise<RegistryAction[]> {
  const parts = splitRepositoryPath(name);
  if (!parts) return [];
  const namespace = await findAccount(deps.db, parts.namespace);
  const repo = namespace ? await findRepository(deps.db, parts.namespace, parts.repository) : null;
  return grantRegistryActions(
    deps.db, identity, { namespace: namespace?.kind === 'robot' ? null : namespace, repo }, requested,
    { anonymousAccess: deps.config.FEATURE_ANONYMOUS_ACCESS },
  );
}

function liveCaller(deps: RegistryDeps, identity: Identity): Caller {
  const memo = new Map<string, Set<RegistryAction>>();
  return {
    kind: identity.kind,
    accountId: identity.kind === 'anonymous' ? 0 : identity.account.id,
    name: identity.kind === 'anonymous' ? '(anonymous)' : identity.account.name,
    scopes: identity.kind === 'anonymous' ? undefined : identity.scopes,
    async actions(name) {
      let set = memo.get(name);
      if (!set) memo.set(name, (set = new Set(await liveActions(deps, identity, name))));
      return set;
    },
  };
}

/**
 * Refuses a registry token that outlived what it was minted from (see credentialStands): it is
 * checked on every request, so regenerating a robot token or revoking an OAuth token takes effect
 * at once rather than when the token expires. UNAUTHORIZED sends the client back to /v2/auth.
 */
async function requireStanding(deps: RegistryDeps, claims: RegistryClaims): Promise<void> {
  // A robot token minted before ROBOTS_DISALLOW was switched on stops working with it.
  if (claims.kind === 'robot' && deps.config.ROBOTS_DISALLOW) throw regErr('UNAUTHORIZED', ROBOTS_DISABLED_MESSAGE);
  if (!(await credentialStands(deps.db, claims))) {
    throw regErr('UNAUTHORIZED', `the token of ${claims.sub} was revoked: the account is gone or disabled, or the robot token or OAuth token it came from was regenerated or revoked; log in again`);
  }
}

/** A caller limited to exactly what a registry token grants (and, for `$oauthtoken`, its OAuth scopes). */
export function tokenCaller(claims: RegistryClaims): Caller {
  const byName = new Map(claims.access.filter((a) => a.type === 'repository').map((a) => [a.name, new Set(a.actions)]));
  return {
    kind: claims.kind,
    accountId: claims.aid,
    name: claims.sub,
    scopes: claims.scp === undefined ? undefined : new Set(parseScopes(claims.scp).scopes),
    async actions(name) {
      return byName.get(name) ?? new Set();
    },
  };
}

/**
 * A registry token sent as the password of its own subject. The build manager hands builders such
 * a short-lived token for one repository; Podman presents it as Basic credentials, so it must
 * work there too, and never for more than it grants.
 */
export async function tokenAsPassword(deps: RegistryDeps, basic: { username: string; password: string }): Promise<RegistryClaims | null> {
  if (!basic.password.startsWith('eyJ')) return null;
  const claims = await deps.tokens.verify(basic.password);
  if (!claims || claims.sub !== basic.username || claims.kind === 'anonymous') return null;
  await requireStanding(deps, claims);
  return claims;
}

/** Identifies the caller from the Authorization header: a registry bearer token, Basic, or nobody. */
export async function identifyCaller(deps: RegistryDeps, req: FastifyRequest): Promise<Caller> {
  const header = req.headers.authorization;
  if (header && /^bearer /i.test(header)) {
    const claims = await deps.tokens.verify(header.slice(7).trim());
    if (!claims) throw regErr('UNAUTHORIZED', 'the bearer token is invalid or has expired');
    await requireStanding(deps, claims);
    return tokenCaller(claims);
  }
  const basic = parseBasic(header);
  if (basic) {
    const claims = await tokenAsPassword(deps, basic);
    if (claims) return tokenCaller(claims);
    const identity = await identifyBasic(deps.db, deps.keys, basic.username, basic.password, { robotsDisallowed: deps.config.ROBOTS_DISALLOW });
    if (!identity) throw regErr('UNAUTHORIZED', 'invalid username or password');
    return liveCaller(deps, identity);
  }
  return liveCaller(deps, ANONYMOUS);
}

export function identityOf(account: Account): Identity {
  return { kind: account.kind === 'robot' ? 'robot' : 'user', account };
}

/** The caller as a full identity, for the rare writes that need the account (creating a repository). */
export async function callerIdentity(deps: RegistryDeps, caller: Caller): Promise<Identity> {
  if (caller.kind === 'anonymous') return ANONYMOUS;
  const account = await getAccountById(deps.db, caller.accountId);
  if (!account || !account.enabled) throw regErr('UNAUTHORIZED', 'the account no longer exists or is disabled');
  // An OAuth token's scopes keep capping what the caller may do.
  const identity = identityOf(account);
  return caller.scopes && identity.kind !== 'anonymous' ? { ...identity, scopes: caller.scopes } : identity;
}
