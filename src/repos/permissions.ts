// Explicit permission rows on one repository, for users, robots and teams. Implicit rights (a
// user's own namespace, an organization's admin teams) are the policy's and never appear here.
import { findAccount, getAccountById, type Account } from '../auth/accounts.js';
import { ROLE_VALUES, type RepoRole } from '../auth/names.js';
import { findTeam, type Team } from '../auth/teams.js';
import type { Queryable } from '../db/index.js';
import { invalid, notFound } from '../errors.js';
import type { Repository } from './repositories.js';

export interface AccountPermission {
  account: Account;
  role: RepoRole;
  /** Robots always; users when they belong to a team of the repository's organization. Null outside organizations. */
  isOrgMember: boolean | null;
}

export interface TeamPermission {
  team: Team;
  role: RepoRole;
}

/** What a change did: the role before (null when there was none) and after (null when removed). */
export interface PermissionChange<T> {
  subject: T;
  previous: RepoRole | null;
  role: RepoRole | null;
}

export function requireRole(role: string): RepoRole {
  if (!(ROLE_VALUES as readonly string[]).includes(role)) throw invalid('role', `unknown role ${JSON.stringify(role)}: use read, write or admin`);
  return role as RepoRole;
}

async function namespaceOf(db: Queryable, repo: Repository): Promise<Account> {
  const ns = await getAccountById(db, repo.namespace_id);
  if (!ns) throw notFound(`namespace ${repo.namespace} does not exist`);
  return ns;
}

/** The users of an organization: members of any of its teams. */
async function orgMemberIds(db: Queryable, orgId: number, accountIds: number[]): Promise<Set<number>> {
  if (accountIds.length === 0) return new Set();
  const rows: { account_id: number }[] = await db('team_members as m')
    .join('teams as t', 't.id', 'm.team_id')
    .where('t.org_id', orgId)
    .whereIn('m.account_id', accountIds)
    .distinct('m.account_id');
  return new Set(rows.map((r) => Number(r.account_id)));
}

async function withOrgMembership(db: Queryable, ns: Account, rows: { account: Account; role: RepoRole }[]): Promise<AccountPermission[]> {
  const members = ns.kind === 'org' ? await orgMemberIds(db, ns.id, rows.map((r) => r.account.id)) : new Set<number>();
  return rows.map((r) => ({
    ...r,
    isOrgMember: ns.kind !== 'org' ? null : r.account.kind === 'robot' || members.has(r.account.id),
  }));
}

/**
 * A user or robot that may hold a role on the repository: robots only inside their own namespace
 * (where the policy lets them act at all).
 */
async function grantee(db: Queryable, repo: Repository, name: string): Promise<Account> {
  const account = await findAccount(db, name);
  if (!account || account.kind === 'org') throw notFound(`no user or robot named ${name}`, 'username');
  if (account.kind === 'robot' && account.parent_id !== repo.namespace_id) {
    throw invalid('username', `robot ${name} belongs to another namespace than ${repo.namespace}; only ${repo.namespace}'s own robots may be given access`);
  }
  return account;
}

async function teamOfRepo(db: Queryable, repo: Repository, name: string): Promise<Team> {
  const ns = await namespaceOf(db, repo);
  const team = ns.kind === 'org' ? await findTeam(db, ns, name) : null;
  if (!team) throw notFound(`team ${name} does not exist in ${repo.namespace}`, 'teamname');
  return team;
}

export async function listAccountPermissions(db: Queryable, repo: Repository): Promise<AccountPermission[]> {
  const rows: { id: number; role: RepoRole }[] = await db('repo_permissions as p')
    .join('accounts as a', 'a.id', 'p.account_id')
    .where('p.repository_id', repo.id)
    .select('a.id', 'p.role')
    .orderBy('a.name');
  const accounts = await Promise.all(rows.map(async (r) => ({ account: (await getAccountById(db, Number(r.id)))!, role: r.role })));
  return withOrgMembership(db, await namespaceOf(db, repo), accounts);
}

export async function getAccountPermission(db: Queryable, repo: Repository, name: string): Promise<AccountPermission> {
  const account = await grantee(db, repo, name);
  const row = await db('repo_permissions').where({ repository_id: repo.id, account_id: account.id }).first('role');
  if (!row) throw notFound(`${name} has no permission on ${repo.namespace}/${repo.name}`, 'username');
  return (await withOrgMembership(db, await namespaceOf(db, repo), [{ account, role: row.role }]))[0]!;
}

/** Gives the user or robot the role on the repository, replacing the one it had. */
export async function setAccountPermission(db: Queryable, repo: Repository, name: string, role: string): Promise<PermissionChange<AccountPermission>> {
  const wanted = requireRole(role);
  return db.transaction(async (tx) => {
    const account = await grantee(tx, repo, name);
    const before = await tx('repo_permissions').where({ repository_id: repo.id, account_id: account.id }).first('role');
    await tx('repo_permissions')
      .insert({ repository_id: repo.id, account_id: account.id, role: wanted })
      .onConflict(['repository_id', 'account_id'])
      .merge({ role: wanted });
    const [subject] = await withOrgMembership(tx, await namespaceOf(tx, repo), [{ account, role: wanted }]);
    return { subject: subject!, previous: (before?.role as RepoRole | undefined) ?? null, role: wanted };
  });
}

export async function removeAccountPermission(db: Queryable, repo: Repository, name: string): Promise<PermissionChange<Account>> {
  const account = await grantee(db, repo, name);
  const before = await db('repo_permissions').where({ repository_id: repo.id, account_id: account.id }).first('role');
  if (!before) throw notFound(`${name} has no permission on ${repo.namespace}/${repo.name}`, 'username');
  await db('repo_permissions').where({ repository_id: repo.id, account_id: account.id }).delete();
  return { subject: account, previous: before.role, role: null };
}

export async function listTeamPermissions(db: Queryable, repo: Repository): Promise<TeamPermission[]> {
  const rows: Record<string, unknown>[] = await db('repo_permissions as p')
    .join('teams as t', 't.id', 'p.team_id')
    .where('p.repository_id', repo.id)
    .select('t.*', 'p.role as permission_role')
    .orderBy('t.name');
  return rows.map((r) => ({
    team: { id: Number(r.id), org_id: Number(r.org_id), name: String(r.name), role: r.role as Team['role'], description: String(r.description ?? '') },
    role: r.permission_role as RepoRole,
  }));
}

export async function getTeamPermission(db: Queryable, repo: Repository, name: string): Promise<TeamPermission> {
  const team = await teamOfRepo(db, repo, name);
  const row = await db('repo_permissions').where({ repository_id: repo.id, team_id: team.id }).first('role');
  if (!row) throw notFound(`team ${name} has no permission on ${repo.namespace}/${repo.name}`, 'teamname');
  return { team, role: row.role };
}

export async function setTeamPermission(db: Queryable, repo: Repository, name: string, role: string): Promise<PermissionChange<TeamPermission>> {
  const wanted = requireRole(role);
  return db.transaction(async (tx) => {
    const team = await teamOfRepo(tx, repo, name);
    const before = await tx('repo_permissions').where({ repository_id: repo.id, team_id: team.id }).first('role');
    await tx('repo_permissions')
      .insert({ repository_id: repo.id, team_id: team.id, role: wanted })
      .onConflict(['repository_id', 'team_id'])
      .merge({ role: wanted });
    return { subject: { team, role: wanted }, previous: (before?.role as RepoRole | undefined) ?? null, role: wanted };
  });
}

export async function removeTeamPermission(db: Queryable, repo: Repository, name: string): Promise<PermissionChange<Team>> {
  const team = await teamOfRepo(db, repo, name);
  const before = await db('repo_permissions').where({ repository_id: repo.id, team_id: team.id }).first('role');
  if (!before) throw notFound(`team ${name} has no permission on ${repo.namespace}/${repo.name}`, 'teamname');
  await db('repo_permissions').where({ repository_id: repo.id, team_id: team.id }).delete();
  return { subject: team, previous: before.role, role: null };
}
