// Default permissions (Quay's permission prototypes): what a repository created in an
// organization grants from the start, optionally only when a given user creates it.
import { randomUUID } from 'node:crypto';
import { findAccount, type Account } from '../auth/accounts.js';
import type { RepoRole } from '../auth/names.js';
import { findTeam } from '../auth/teams.js';
import { isUniqueViolation, type Queryable } from '../db/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { requireRole } from './permissions.js';

export interface PrototypeAccount {
  id: number;
  name: string;
  email: string | null;
  isRobot: boolean;
  isOrgMember: boolean;
}

export interface Prototype {
  uuid: string;
  role: RepoRole;
  /** Null: applies whoever creates the repository. */
  activating: PrototypeAccount | null;
  delegate: ({ kind: 'user' } & PrototypeAccount) | { kind: 'team'; id: number; name: string };
}

export interface PrototypeInput {
  role: string;
  delegate: { name: string; kind: 'user' | 'team' };
  activating_user?: { name: string } | null;
}

const isMember = (account: string) =>
  `(${account}.kind = 'robot' OR EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id WHERE t.org_id = p.org_id AND m.account_id = ${account}.id))`;

function query(db: Queryable, org: Account) {
  return db('permission_prototypes as p')
    .leftJoin('accounts as aa', 'aa.id', 'p.activating_account_id')
    .leftJoin('accounts as da', 'da.id', 'p.delegate_account_id')
    .leftJoin('teams as dt', 'dt.id', 'p.delegate_team_id')
    .where('p.org_id', org.id)
    .select(
      'p.uuid', 'p.role', 'p.activating_account_id', 'p.delegate_account_id', 'p.delegate_team_id',
      'aa.name as a_name', 'aa.email as a_email', 'aa.kind as a_kind', db.raw(`${isMember('aa')} as a_member`),
      'da.name as d_name', 'da.email as d_email', 'da.kind as d_kind', db.raw(`${isMember('da')} as d_member`),
      'dt.name as t_name',
    )
    .orderBy('p.id');
}

function toPrototype(r: Record<string, any>): Prototype {
  const account = (prefix: 'a' | 'd', id: unknown): PrototypeAccount => ({
    id: Number(id), name: r[`${prefix}_name`], email: r[`${prefix}_email`] ?? null,
    isRobot: r[`${prefix}_kind`] === 'robot', isOrgMember: Boolean(r[`${prefix}_member`]),
  });
  return {
    uuid: r.uuid,
    role: r.role,
    activating: r.activating_account_id == null ? null : account('a', r.activating_account_id),
    delegate: r.delegate_team_id != null
      ? { kind: 'team', id: Number(r.delegate_team_id), name: r.t_name }
      : { kind: 'user', ...account('d', r.delegate_account_id) },
  };
}

export async function listPrototypes(db: Queryable, org: Account): Promise<Prototype[]> {
  return (await query(db, org)).map(toPrototype);
}

export async function getPrototype(db: Queryable, org: Account, uuid: string): Promise<Prototype> {
  const row = await query(db, org).where('p.uuid', uuid).first();
  if (!row) throw notFound(`no default permission ${uuid} in ${org.name}`);
  return toPrototype(row);
}

/** A user, or a robot of the organization itself (robots act nowhere else). */
async function orgAccount(db: Queryable, org: Account, name: string, field: string): Promise<Account> {
  const account = await findAccount(db, name);
  if (!account || account.kind === 'org') throw invalid(field, `no user or robot named ${name}`);
  if (account.kind === 'robot' && account.parent_id !== org.id) {
    throw invalid(field, `robot ${name} belongs to another namespace than ${org.name}`);
  }
  return account;
}

/** The columns an input resolves to; names in the body that do not exist are 400s naming their field. */
async function resolve(db: Queryable, org: Account, input: PrototypeInput) {
  const role = requireRole(input.role);
  let delegate: { delegate_account_id: number | null; delegate_team_id: number | null };
  if (input.delegate.kind === 'team') {
    const team = await findTeam(db, org, input.delegate.name);
    if (!team) throw invalid('delegate.name', `team ${input.delegate.name} does not exist in ${org.name}`);
    delegate = { delegate_account_id: null, delegate_team_id: team.id };
  } else if (input.delegate.kind === 'user') {
    delegate = { delegate_account_id: (await orgAccount(db, org, input.delegate.name, 'delegate.name')).id, delegate_team_id: null };
  } else {
    throw invalid('delegate.kind', 'delegate.kind must be user or team');
  }
  const activating = input.activating_user ? await orgAccount(db, org, input.activating_user.name, 'activating_user.name') : null;
  return { role, ...delegate, activating_account_id: activating?.id ?? null };
}

function duplicate(org: Account): Error {
  return conflict(`${org.name} already has a default permission for this delegate and activating user: change that one instead`, 'delegate');
}

export async function createPrototype(db: Queryable, org: Account, input: PrototypeInput): Promise<Prototype> {
  return db.transaction(async (tx) => {
    const values = await resolve(tx, org, input);
    const uuid = randomUUID();
    try {
      await tx('permission_prototypes').insert({ uuid, org_id: org.id, ...values, created_at: Date.now() });
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(org);
      throw err;
    }
    return getPrototype(tx, org, uuid);
  });
}

/** Changes the role, and the delegate and activating user when given (Quay's PUT changes only the role). */
export async function updatePrototype(
  db: Queryable, org: Account, uuid: string, input: Partial<PrototypeInput> & { role: string },
): Promise<{ before: Prototype; after: Prototype }> {
  return db.transaction(async (tx) => {
    const before = await getPrototype(tx, org, uuid);
    const current: PrototypeInput = {
      role: before.role,
      delegate: { name: before.delegate.name, kind: before.delegate.kind },
      activating_user: before.activating ? { name: before.activating.name } : null,
    };
    const values = await resolve(tx, org, {
      role: input.role,
      delegate: input.delegate ?? current.delegate,
      activating_user: input.activating_user === undefined ? current.activating_user : input.activating_user,
    });
    try {
      await tx('permission_prototypes').where({ org_id: org.id, uuid }).update(values);
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(org);
      throw err;
    }
    return { before, after: await getPrototype(tx, org, uuid) };
  });
}

export async function deletePrototype(db: Queryable, org: Account, uuid: string): Promise<Prototype> {
  return db.transaction(async (tx) => {
    const proto = await getPrototype(tx, org, uuid);
    await tx('permission_prototypes').where({ org_id: org.id, uuid }).delete();
    return proto;
  });
}

/**
 * Grants what the organization's prototypes say on a repository just created in it, as Quay's
 * apply_default_permissions: for each delegate, a prototype naming the creator wins over one for
 * anybody; the creator itself is skipped (it holds admin already). Call it in the creating transaction.
 */
export async function applyPrototypes(db: Queryable, repositoryId: number, org: Account, creator: Account | null): Promise<void> {
  if (org.kind !== 'org') return;
  const rows: { activating_account_id: number | null; delegate_account_id: number | null; delegate_team_id: number | null; role: RepoRole }[] =
    await db('permission_prototypes')
      .where('org_id', org.id)
      .andWhere((q) => {
        q.whereNull('activating_account_id');
        if (creator) q.orWhere('activating_account_id', creator.id);
      })
      .select('activating_account_id', 'delegate_account_id', 'delegate_team_id', 'role');
  const grants = new Map<string, { account_id: number | null; team_id: number | null; role: RepoRole }>();
  for (const r of rows) {
    const key = r.delegate_team_id != null ? `t${r.delegate_team_id}` : `a${r.delegate_account_id}`;
    if (grants.has(key) && r.activating_account_id == null) continue;
    grants.set(key, { account_id: r.delegate_account_id, team_id: r.delegate_team_id, role: r.role });
  }
  const inserts = [...grants.values()]
    .filter((g) => !(creator && g.account_id === creator.id))
    .map((g) => ({ repository_id: repositoryId, ...g }));
  if (inserts.length > 0) await db('repo_permissions').insert(inserts);
}
