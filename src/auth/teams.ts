// Teams of an organization and their members. One rule holds across every change here: an
// organization keeps at least one user in an admin team, checked inside the change's transaction.
import { findAccount, getAccountById, type Account } from './accounts.js';
import { isNamespaceName } from './names.js';
import type { Queryable } from '../db/index.js';
import { conflict, invalid, notFound } from '../errors.js';

export const TEAM_ROLES = ['member', 'creator', 'admin'] as const;
export type TeamRole = (typeof TEAM_ROLES)[number];

export interface Team {
  id: number;
  org_id: number;
  name: string;
  role: TeamRole;
  description: string;
}

export interface TeamSummary extends Team {
  member_count: number;
  repo_count: number;
}

export interface TeamMember {
  id: number;
  name: string;
  kind: 'user' | 'robot';
}

function toTeam(row: Record<string, unknown>): Team {
  return { id: Number(row.id), org_id: Number(row.org_id), name: String(row.name), role: row.role as TeamRole, description: String(row.description ?? '') };
}

export function isTeamRole(role: string): role is TeamRole {
  return (TEAM_ROLES as readonly string[]).includes(role);
}

export async function findTeam(db: Queryable, org: Account, name: string): Promise<Team | null> {
  const row = await db('teams').where({ org_id: org.id, name }).first();
  return row ? toTeam(row) : null;
}

export async function requireTeam(db: Queryable, org: Account, name: string): Promise<Team> {
  const team = await findTeam(db, org, name);
  if (!team) throw notFound(`team ${name} does not exist in ${org.name}`, 'teamname');
  return team;
}

/** Every team of the organization, oldest first, with how many members and repositories each has. */
export async function listTeams(db: Queryable, org: Account): Promise<TeamSummary[]> {
  const rows: Record<string, unknown>[] = await db('teams as t')
    .where('t.org_id', org.id)
    .select(
      't.*',
      db('team_members as m').count('*').whereRaw('m.team_id = t.id').as('member_count'),
      db('repo_permissions as p').count('*').whereRaw('p.team_id = t.id').as('repo_count'),
    )
    .orderBy('t.id');
  return rows.map((r) => ({ ...toTeam(r), member_count: Number(r.member_count), repo_count: Number(r.repo_count) }));
}

/** The ids of the organization's teams the account belongs to. */
export async function teamIdsOf(db: Queryable, org: Account, accountId: number): Promise<Set<number>> {
  const rows: { id: number }[] = await db('teams as t')
    .join('team_members as m', 'm.team_id', 't.id')
    .where({ 't.org_id': org.id, 'm.account_id': accountId })
    .select('t.id');
  return new Set(rows.map((r) => Number(r.id)));
}

/** Refuses a change that would leave the organization without a user in an admin team. */
export async function assertOrgKeepsAdmin(db: Queryable, org: Account, field: string): Promise<void> {
  const row = await db('team_members as m')
    .join('teams as t', 't.id', 'm.team_id')
    .join('accounts as a', 'a.id', 'm.account_id')
    .where({ 't.org_id': org.id, 't.role': 'admin', 'a.kind': 'user' })
    .first('m.account_id');
  if (!row) throw conflict(`${org.name} must keep at least one administrator: add another user to an admin team first`, field);
}

export interface TeamChange {
  team: Team;
  created: boolean;
  roleChanged: boolean;
  descriptionChanged: boolean;
}

/** Creates the team, or updates its role and description; a role taken from the last admins is refused. */
export async function putTeam(db: Queryable, org: Account, name: string, input: { role: string; description?: string }): Promise<TeamChange> {
  if (!isNamespaceName(name)) throw invalid('teamname', `invalid team name ${JSON.stringify(name)}: use 2–255 lowercase letters, digits, and . _ - between them`);
  if (!isTeamRole(input.role)) throw invalid('role', `unknown team role ${JSON.stringify(input.role)}: use member, creator or admin`);
  const role = input.role;
  return db.transaction(async (tx) => {
    const existing = await findTeam(tx, org, name);
    if (!existing) {
      const [row] = await tx('teams').insert({ org_id: org.id, name, role, description: input.description ?? '' }).returning('*');
      return { team: toTeam(row), created: true, roleChanged: false, descriptionChanged: false };
    }
    const roleChanged = existing.role !== role;
    const descriptionChanged = input.description !== undefined && input.description !== existing.description;
    if (roleChanged || descriptionChanged) {
      await tx('teams').where({ id: existing.id }).update({ role, description: input.description ?? existing.description });
    }
    if (roleChanged && existing.role === 'admin') await assertOrgKeepsAdmin(tx, org, 'role');
    return { team: { ...existing, role, description: input.description ?? existing.description }, created: false, roleChanged, descriptionChanged };
  });
}

export async function deleteTeam(db: Queryable, org: Account, name: string): Promise<Team> {
  return db.transaction(async (tx) => {
    const team = await requireTeam(tx, org, name);
    await tx('teams').where({ id: team.id }).delete();
    if (team.role === 'admin') await assertOrgKeepsAdmin(tx, org, 'teamname');
    return team;
  });
}

export async function teamMembers(db: Queryable, team: Team): Promise<TeamMember[]> {
  const rows: { id: number; name: string; kind: 'user' | 'robot' }[] = await db('team_members as m')
    .join('accounts as a', 'a.id', 'm.account_id')
    .where('m.team_id', team.id)
    .select('a.id', 'a.name', 'a.kind')
    .orderBy('a.name');
  return rows.map((r) => ({ id: Number(r.id), name: r.name, kind: r.kind }));
}

/** A user, or a robot of the team's own organization, that may join the team. */
async function memberCandidate(db: Queryable, org: Account, name: string): Promise<Account> {
  const account = await findAccount(db, name);
  if (!account) throw notFound(`no user or robot named ${name}`, 'membername');
  if (account.kind === 'org') throw invalid('membername', `${name} is an organization; teams hold users and robots`);
  if (account.kind === 'robot' && account.parent_id !== org.id) {
    throw invalid('membername', `robot ${name} belongs to another namespace than ${org.name}; only ${org.name}'s own robots may join its teams`);
  }
  return account;
}

/** Adds the member directly (no invitation); `added` is false when it was in the team already. */
export async function addTeamMember(db: Queryable, org: Account, team: Team, name: string): Promise<{ member: Account; added: boolean }> {
  const member = await memberCandidate(db, org, name);
  const inserted = await db('team_members')
    .insert({ team_id: team.id, account_id: member.id })
    .onConflict(['team_id', 'account_id'])
    .ignore()
    .returning('account_id');
  return { member, added: inserted.length > 0 };
}

export async function removeTeamMember(db: Queryable, org: Account, team: Team, name: string): Promise<Account> {
  return db.transaction(async (tx) => {
    const member = await findAccount(tx, name);
    const removed = member ? await tx('team_members').where({ team_id: team.id, account_id: member.id }).delete() : 0;
    if (!member || removed === 0) throw notFound(`${name} is not a member of team ${team.name}`, 'membername');
    if (team.role === 'admin') await assertOrgKeepsAdmin(tx, org, 'membername');
    return member;
  });
}

/** The organizations the user belongs to (through any team), by name. */
export async function organizationsOf(db: Queryable, user: Account): Promise<Account[]> {
  const ids: { org_id: number }[] = await db('teams as t')
    .join('team_members as m', 'm.team_id', 't.id')
    .where('m.account_id', user.id)
    .distinct('t.org_id');
  const orgs = await Promise.all(ids.map((r) => getAccountById(db, Number(r.org_id))));
  return orgs.filter((o): o is Account => o !== null).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The organizations in which the user is the only user left in an admin team. */
export async function orgsSolelyAdministeredBy(db: Queryable, user: Account): Promise<string[]> {
  const rows: { name: string; admins: number | string }[] = await db('teams as t')
    .join('team_members as m', 'm.team_id', 't.id')
    .join('accounts as a', 'a.id', 'm.account_id')
    .join('accounts as o', 'o.id', 't.org_id')
    .where({ 't.role': 'admin', 'a.kind': 'user' })
    .whereIn('t.org_id', db('teams as t2').join('team_members as m2', 'm2.team_id', 't2.id').where({ 't2.role': 'admin', 'm2.account_id': user.id }).select('t2.org_id'))
    .groupBy('o.name')
    .select('o.name', db.raw('count(distinct m.account_id) as admins'));
  return rows.filter((r) => Number(r.admins) === 1).map((r) => r.name).sort();
}
