// The one place that decides who may do what. Handlers ask; they never decide.
import { getAccountById, type Account } from './accounts.js';
import type { RepoRole } from './names.js';
import type { Queryable } from '../db/index.js';
import type { Repository } from '../repos/repositories.js';
import { DomainError, forbidden, notFound } from '../errors.js';
import { hasScope, maxRepoRole, type Scope, type ScopeSet } from './scopes.js';

/**
 * Who is acting. `scopes` is set when a user acts through an OAuth token: then the token's
 * scopes cap what the user may do; without it (password, robot token) nothing is capped.
 */
export type Identity =
  | { kind: 'anonymous' }
  | { kind: 'user' | 'robot'; account: Account; scopes?: ScopeSet };

export const ANONYMOUS: Identity = { kind: 'anonymous' };

export type RegistryAction = 'pull' | 'push' | 'delete' | '*';
export const REGISTRY_ACTIONS: readonly RegistryAction[] = ['pull', 'push', 'delete', '*'];

const RANK: Record<RepoRole, number> = { read: 1, write: 2, admin: 3 };

function maxRole(a: RepoRole | null, b: RepoRole | null): RepoRole | null {
  if (!a) return b;
  if (!b) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

export interface PolicyOptions {
  anonymousAccess: boolean;
}

type TeamRole = 'member' | 'creator' | 'admin';

/** The highest team role the account holds in an organization, or null. */
async function teamRoleIn(db: Queryable, accountId: number, orgId: number): Promise<TeamRole | null> {
  const rows: { role: TeamRole }[] = await db('team_members as m')
    .join('teams as t', 't.id', 'm.team_id')
    .where({ 'm.account_id': accountId, 't.org_id': orgId })
    .select('t.role');
  const roles = new Set(rows.map((r) => r.role));
  return roles.has('admin') ? 'admin' : roles.has('creator') ? 'creator' : roles.has('member') ? 'member' : null;
}

function scopesOf(identity: Identity): ScopeSet {
  return identity.kind === 'anonymous' ? 'all' : identity.scopes ?? 'all';
}

/** Whether the identity's credentials carry the scope (always, unless it acts through a token). */
export function identityHasScope(identity: Identity, scope: Scope): boolean {
  return hasScope(scopesOf(identity), scope);
}

/** The role an identity holds on a repository, with public visibility counted as read. */
export async function repositoryRole(db: Queryable, identity: Identity, repo: Repository, opts: PolicyOptions): Promise<RepoRole | null> {
  const role = await uncappedRepositoryRole(db, identity, repo, opts);
  const cap = maxRepoRole(scopesOf(identity));
  if (!role) return null;
  if (!cap) return repo.visibility === 'public' ? 'read' : null;
  return RANK[role] <= RANK[cap] ? role : cap;
}

async function uncappedRepositoryRole(db: Queryable, identity: Identity, repo: Repository, opts: PolicyOptions): Promise<RepoRole | null> {
  const publicRead: RepoRole | null = repo.visibility === 'public' && (identity.kind !== 'anonymous' || opts.anonymousAccess) ? 'read' : null;
  if (identity.kind === 'anonymous' || !identity.account.enabled) return publicRead;
  const acc = identity.account;
  // Robots act only inside their own namespace and have no implicit rights there.
  if (acc.kind === 'robot' && acc.parent_id !== repo.namespace_id) return publicRead;
  if (acc.kind === 'user' && acc.id === repo.namespace_id) return 'admin';
  if ((await teamRoleIn(db, acc.id, repo.namespace_id)) === 'admin') return 'admin';
  const rows: { role: RepoRole }[] = await db('repo_permissions as p')
    .where('p.repository_id', repo.id)
    .andWhere((q) =>
      q.where('p.account_id', acc.id).orWhereIn(
        'p.team_id',
        db('team_members').select('team_id').where('account_id', acc.id),
      ),
    )
    .select('p.role');
  return rows.reduce<RepoRole | null>((best, r) => maxRole(best, r.role), publicRead);
}

/**
 * The ids of the repositories the identity may pull, as a subquery: the same rules as
 * repositoryRole, for listing many repositories in one query.
 */
export function readableRepositoryIds(db: Queryable, identity: Identity, opts: PolicyOptions & {
  /** false: only the repositories granted to the identity, not every public one (Quay's list without `public`). */
  includePublic?: boolean;
}) {
  const publicRead = (identity.kind !== 'anonymous' || opts.anonymousAccess) && opts.includePublic !== false;
  return db('repositories as r').select('r.id').where((q) => {
    if (publicRead) q.where('r.visibility', 'public');
    else q.whereRaw('1 = 0');
    if (identity.kind === 'anonymous' || !identity.account.enabled) return;
    // A token without any repo:* scope reads only what anybody may (as repositoryRole).
    if (!maxRepoRole(scopesOf(identity))) return;
    const acc = identity.account;
    const myTeams = () => db('team_members').select('team_id').where('account_id', acc.id);
    q.orWhere((granted) => {
      // Robots act only inside their own namespace and have no implicit rights there.
      if (acc.kind === 'robot') granted.where('r.namespace_id', acc.parent_id ?? 0);
      granted.andWhere((any) => {
        if (acc.kind === 'user') any.orWhere('r.namespace_id', acc.id);
        any
          .orWhereIn('r.namespace_id', db('teams').select('org_id').where('role', 'admin').whereIn('id', myTeams()))
          .orWhereIn(
            'r.id',
            db('repo_permissions').select('repository_id').where('account_id', acc.id).orWhereIn('team_id', myTeams()),
          );
      });
    });
  });
}

/**
 * The refusal for a repository that does not exist: the same one a hidden private repository
 * gets, so that nobody learns which names exist.
 */
export function missingRepository(identity: Identity, fullName: string): DomainError {
  if (identity.kind === 'anonymous') return new DomainError('unauthenticated', 'sign in to do this: send a user password (Basic) or an OAuth token (Bearer)');
  return notFound(`repository ${fullName} not found`);
}

/** Whether the identity may create repositories in the namespace. */
export async function canCreateIn(db: Queryable, identity: Identity, namespace: Account): Promise<boolean> {
  if (identity.kind === 'anonymous' || !identity.account.enabled || namespace.kind === 'robot') return false;
  if (!identityHasScope(identity, 'repo:create')) return false;
  const acc = identity.account;
  if (acc.kind === 'user' && acc.id === namespace.id) return true;
  if (namespace.kind !== 'org') return false;
  if (acc.kind === 'robot' && acc.parent_id !== namespace.id) return false;
  const role = await teamRoleIn(db, acc.id, namespace.id);
  return role === 'admin' || role === 'creator';
}

/** Whether the identity administers the namespace (its own user, or an org admin team member). */
export async function isNamespaceAdmin(db: Queryable, identity: Identity, namespace: Account): Promise<boolean> {
  if (identity.kind !== 'user' || !identity.account.enabled) return false;
  if (identity.account.id === namespace.id) return identityHasScope(identity, 'user:admin');
  return namespace.kind === 'org' && identityHasScope(identity, 'org:admin') && (await teamRoleIn(db, identity.account.id, namespace.id)) === 'admin';
}

/**
 * The registry actions granted out of those requested, Quay-style: each is granted or silently
 * dropped. `repo` is null when the repository does not exist yet; then push may create it.
 */
export async function grantRegistryActions(
  db: Queryable,
  identity: Identity,
  target: { namespace: Account | null; repo: Repository | null },
  requested: readonly RegistryAction[],
  opts: PolicyOptions,
): Promise<RegistryAction[]> {
  const { namespace, repo } = target;
  if (!repo) {
    if (!namespace || !(await canCreateIn(db, identity, namespace))) return [];
    // The creator becomes admin of what it creates.
    return requested.filter((a) => REGISTRY_ACTIONS.includes(a));
  }
  const role = await repositoryRole(db, identity, repo, opts);
  const writable = repo.state === 'NORMAL';
  return requested.filter((action) => {
    switch (action) {
      case 'pull': return role !== null;
      case 'push':
      case 'delete': return writable && (role === 'write' || role === 'admin');
      case '*': return writable && role === 'admin';
      default: return false;
    }
  });
}

/**
 * The first scope the identity may not put into a token for itself, and why; null when it may
 * grant them all. Credentials grant only scopes they carry (a token never begets a broader one),
 * and super:user only for a superuser. Every other scope is harmless to hold without the role:
 * the holder's real roles cap it at use.
 */
export function ungrantableScope(identity: Identity, scopes: readonly Scope[]): { scope: Scope; reason: string } | null {
  for (const scope of scopes) {
    if (identity.kind !== 'user') return { scope, reason: 'only a signed-in user may be granted a token' };
    if (!identityHasScope(identity, scope)) return { scope, reason: `the token you call with lacks the ${scope} scope, so it cannot grant it` };
    if (scope === 'super:user' && !identity.account.superuser) return { scope, reason: 'only a superuser may be granted the super:user scope' };
  }
  return null;
}

/** What an /api/v1 endpoint needs of its caller; every endpoint states one and asks requireApi. */
export type ApiNeed =
  /** The caller's own account: `read` needs user:read, `admin` user:admin. */
  | { on: 'self'; level: 'read' | 'admin' }
  /** A superuser acting with super:user. */
  | { on: 'superuser' }
  /**
   * An organization: `member` sees it, `admin` administers it (org:admin); a user namespace counts as
   * the user's own. `scope`: what a token must also carry at the member level (the admin level
   * already needs org:admin, or user:admin for one's own namespace).
   */
  | { on: 'namespace'; namespace: Account; level: 'member' | 'admin'; scope?: Scope }
  | { on: 'create-repo'; namespace: Account }
  /** A team's member list: the organization's admins and the team's own members, with org:admin (as Quay). */
  | { on: 'team'; namespace: Account; team: { id: number; name: string } }
  | { on: 'repo'; repo: Repository; role: RepoRole }
  /**
   * Minting an OAuth token for the caller through an organization's application: the org's admin
   * (with org:admin) may, for scopes the caller holds. super:user needs a superuser; the repo:*,
   * repo:create and user:* scopes any user holds, since their real roles cap them at use; and a
   * caller acting through a token mints no scope that token lacks.
   */
  | { on: 'mint-token'; namespace: Account; scopes: readonly Scope[] }
  /**
   * Handing a robot's credentials to work done for the caller (a build's or a trigger's
   * pull_robot): only an administrator of the robot's namespace may, as Quay asks. A refusal
   * names `field`, the input that named the robot.
   */
  | { on: 'use-robot'; robot: Account; field: string }
  /** Any one of the needs suffices (a repository's admin or a superuser, say); the first one's refusal is the answer. */
  | { on: 'any'; needs: readonly ApiNeed[] };

function loggedIn(identity: Identity): asserts identity is Extract<Identity, { kind: 'user' | 'robot' }> {
  if (identity.kind === 'anonymous') throw new DomainError('unauthenticated', 'sign in to do this: send a user password (Basic) or an OAuth token (Bearer)');
}

/**
 * Refuses what the identity may not do: 401 for nobody, 404 where the thing must stay hidden
 * (a private repository, an organization one is not in), 403 otherwise.
 */
export async function requireApi(db: Queryable, identity: Identity, need: ApiNeed, opts: PolicyOptions): Promise<void> {
  switch (need.on) {
    case 'repo': {
      const role = await repositoryRole(db, identity, need.repo, opts);
      if (role && RANK[role] >= RANK[need.role]) return;
      // Nobody signed in is asked to, even where a public repository lets it read.
      if (identity.kind === 'anonymous') loggedIn(identity);
      if (!role) throw notFound(`repository ${need.repo.namespace}/${need.repo.name} not found`);
      throw forbidden(`${need.role} permission on ${need.repo.namespace}/${need.repo.name} is needed`);
    }
    case 'self': {
      loggedIn(identity);
      const scope = need.level === 'read' ? 'user:read' : 'user:admin';
      if (!identityHasScope(identity, scope) && !(need.level === 'read' && identityHasScope(identity, 'user:admin'))) {
        throw forbidden(`the token lacks the ${scope} scope`);
      }
      return;
    }
    case 'superuser': {
      loggedIn(identity);
      if (identity.account.superuser && identityHasScope(identity, 'super:user')) return;
      throw forbidden('only a superuser may do this');
    }
    case 'create-repo': {
      loggedIn(identity);
      if (await canCreateIn(db, identity, need.namespace)) return;
      // A namespace one is not in stays hidden: the same answer as for one that does not exist.
      const inside = identity.account.id === need.namespace.id
        || (need.namespace.kind === 'org' && (await teamRoleIn(db, identity.account.id, need.namespace.id)) !== null);
      if (!inside) throw notFound(`namespace ${need.namespace.name} does not exist`);
      throw forbidden(`you may not create repositories in ${need.namespace.name}`);
    }
    case 'namespace': {
      loggedIn(identity);
      if (await isNamespaceAdmin(db, identity, need.namespace)) return;
      const member = need.namespace.kind === 'org' && (await teamRoleIn(db, identity.account.id, need.namespace.id)) !== null;
      if (!member && identity.account.id !== need.namespace.id) throw notFound(`namespace ${need.namespace.name} not found`);
      if (need.level === 'member') {
        if (!need.scope || identityHasScope(identity, need.scope)) return;
        throw forbidden(`the token lacks the ${need.scope} scope`);
      }
      throw forbidden(`administering ${need.namespace.name} needs its admin role${identity.scopes && identity.scopes !== 'all' ? ' and the org:admin scope' : ''}`);
    }
    case 'team': {
      loggedIn(identity);
      if (await isNamespaceAdmin(db, identity, need.namespace)) return;
      if ((await teamRoleIn(db, identity.account.id, need.namespace.id)) === null) throw notFound(`namespace ${need.namespace.name} not found`);
      const inTeam = await db('team_members').where({ team_id: need.team.id, account_id: identity.account.id }).first();
      if (inTeam && identityHasScope(identity, 'org:admin')) return;
      throw forbidden(`only ${need.namespace.name}'s admins and the members of team ${need.team.name} may see its members${inTeam ? ' (the token lacks the org:admin scope)' : ''}`);
    }
    case 'mint-token': {
      await requireApi(db, identity, { on: 'namespace', namespace: need.namespace, level: 'admin' }, opts);
      const refused = ungrantableScope(identity, need.scopes);
      if (refused) throw forbidden(refused.reason);
      return;
    }
    case 'use-robot': {
      loggedIn(identity);
      const namespace = need.robot.parent_id === null ? null : await getAccountById(db, need.robot.parent_id);
      if (need.robot.kind === 'robot' && namespace && (await isNamespaceAdmin(db, identity, namespace))) return;
      throw new DomainError('forbidden', `only an administrator of ${namespace?.name ?? need.robot.name} may use its robot ${need.robot.name}`, need.field);
    }
    case 'any': {
      let first: unknown;
      for (const one of need.needs) {
        try {
          return await requireApi(db, identity, one, opts);
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          first ??= err;
        }
      }
      throw first ?? forbidden('not allowed');
    }
  }
}

/**
 * Why the registry refuses to write to (push to, delete from) a repository in its current state,
 * or null when it may. Token issue already drops push for such a repository, but a token issued
 * before a state change lives on, so every write asks this again. `hidden`: the repository is to
 * look missing (on its way out), as Quay answers 404 for one marked for deletion.
 */
export function registryWriteRefusal(repo: Pick<Repository, 'namespace' | 'name'> & { state: string }): { hidden: boolean; message: string } | null {
  const name = `${repo.namespace}/${repo.name}`;
  switch (repo.state) {
    case 'NORMAL': return null;
    case 'READ_ONLY': return { hidden: false, message: `${name} is in read-only mode` };
    case 'MIRROR':
    case 'ORG_MIRROR': return { hidden: false, message: `${name} is a mirror: mirrored repositories cannot be modified directly` };
    case 'MARKED_FOR_DELETION': return { hidden: true, message: `repository ${name} not found` };
    default: return { hidden: false, message: `${name} is in state ${repo.state}, which takes no pushes or deletes` };
  }
}
