import { isRepositoryName, ROLE_VALUES, type RepoRole } from '../auth/names.js';
import { findAccount, requireNamespace, type Account } from '../auth/accounts.js';
import { isUniqueViolation, type Queryable } from '../db/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { applyPrototypes } from './prototypes.js';

export type Visibility = 'public' | 'private';
export type RepoState = 'NORMAL' | 'READ_ONLY' | 'MIRROR';
export const REPO_KINDS = ['image', 'application'] as const;
export type RepoKind = (typeof REPO_KINDS)[number];

export interface Repository {
  id: number;
  namespace_id: number;
  namespace: string;
  name: string;
  visibility: Visibility;
  state: RepoState;
  kind: string;
  description: string;
  created_at: number;
  updated_at: number;
}

export function toRepository(row: Record<string, unknown>): Repository {
  return {
    id: Number(row.id), namespace_id: Number(row.namespace_id), namespace: String(row.namespace),
    name: String(row.name), visibility: row.visibility as Visibility, state: row.state as RepoState,
    kind: String(row.kind), description: String(row.description ?? ''),
    created_at: Number(row.created_at), updated_at: Number(row.updated_at),
  };
}

function baseQuery(db: Queryable) {
  return db('repositories as r')
    .join('accounts as a', 'a.id', 'r.namespace_id')
    .select('r.*', 'a.name as namespace');
}

export async function findRepository(db: Queryable, namespace: string, name: string): Promise<Repository | null> {
  const row = await baseQuery(db).where({ 'a.name': namespace, 'r.name': name }).first();
  return row ? toRepository(row) : null;
}

export async function getRepositoryById(db: Queryable, id: number): Promise<Repository | null> {
  const row = await baseQuery(db).where({ 'r.id': id }).first();
  return row ? toRepository(row) : null;
}

/**
 * Full names (`namespace/name`) of the repositories whose ids the subquery yields, sorted bytewise,
 * starting after `last`.
 */
export async function listRepositoryNames(
  db: Queryable,
  ids: ReturnType<Queryable>,
  page: { last?: string; limit?: number },
): Promise<string[]> {
  const postgres = (db.client as { dialect?: string }).dialect === 'postgresql';
  const fullName = postgres ? `(a.name || '/' || r.name) COLLATE "C"` : `(a.name || '/' || r.name)`;
  const q = db('repositories as r')
    .join('accounts as a', 'a.id', 'r.namespace_id')
    .whereIn('r.id', ids)
    .select(db.raw(`${fullName} as full_name`))
    .orderByRaw(fullName);
  if (page.last !== undefined) q.whereRaw(`${fullName} > ?`, [page.last]);
  if (page.limit !== undefined) q.limit(page.limit);
  const rows: { full_name: string }[] = await q;
  return rows.map((r) => r.full_name);
}

export interface CreateRepositoryInput {
  namespace: string;
  name: string;
  visibility: Visibility;
  description?: string;
  /** Who creates it: given an admin row when they do not own the namespace (as Quay does). */
  creator?: Account;
  kind?: RepoKind;
}

export async function createRepository(db: Queryable, input: CreateRepositoryInput): Promise<Repository> {
  if (!isRepositoryName(input.name)) throw invalid('repository', `invalid repository name ${JSON.stringify(input.name)}`);
  if (input.visibility !== 'public' && input.visibility !== 'private') throw invalid('visibility', 'visibility must be public or private');
  if (input.kind !== undefined && !REPO_KINDS.includes(input.kind)) throw invalid('repo_kind', 'repo_kind must be image or application');
  return db.transaction(async (tx) => {
    const ns = await requireNamespace(tx, input.namespace);
    const now = Date.now();
    let id: number;
    try {
      const [row] = await tx('repositories')
        .insert({
          namespace_id: ns.id, name: input.name, visibility: input.visibility, kind: input.kind ?? 'image',
          description: input.description ?? '', created_at: now, updated_at: now,
        })
        .returning(['id']);
      id = Number(row.id);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`repository ${input.namespace}/${input.name} already exists`, 'repository');
      throw err;
    }
    // The creator keeps administering what it made, a robot included (a robot has no implicit rights).
    if (input.creator && input.creator.id !== ns.id && input.creator.kind !== 'org') {
      await tx('repo_permissions').insert({ repository_id: id, account_id: input.creator.id, role: 'admin' });
    }
    // Every creation path (API, registry push, admin CLI) comes through here, so default permissions always apply.
    await applyPrototypes(tx, id, ns, input.creator ?? null);
    return (await getRepositoryById(tx, id))!;
  });
}

export async function setVisibility(db: Queryable, repo: Repository, visibility: Visibility): Promise<void> {
  if (visibility !== 'public' && visibility !== 'private') throw invalid('visibility', 'visibility must be public or private');
  await db('repositories').where({ id: repo.id }).update({ visibility, updated_at: Date.now() });
}

export async function setDescription(db: Queryable, repo: Repository, description: string): Promise<void> {
  await db('repositories').where({ id: repo.id }).update({ description, updated_at: Date.now() });
}

/** NORMAL or READ_ONLY; MIRROR waits for repository mirroring, which would own such a repository. */
export async function setState(db: Queryable, repo: Repository, state: string): Promise<void> {
  if (state === 'MIRROR') throw invalid('state', 'state MIRROR needs repository mirroring, which this server does not offer yet: use NORMAL or READ_ONLY');
  if (state !== 'NORMAL' && state !== 'READ_ONLY') throw invalid('state', `unknown state ${JSON.stringify(state)}: use NORMAL or READ_ONLY`);
  await db('repositories').where({ id: repo.id }).update({ state, updated_at: Date.now() });
}

/**
 * Deletes the repository with its tags, manifests, blob links, uploads and permissions (the
 * foreign keys cascade). Blob bytes stay in storage, possibly shared with other repositories,
 * until garbage collection removes the unreferenced ones.
 */
export async function deleteRepository(db: Queryable, repo: Repository): Promise<void> {
  const deleted = await db('repositories').where({ id: repo.id }).delete();
  if (deleted === 0) throw notFound(`repository ${repo.namespace}/${repo.name} not found`);
}

/** Grants a user or robot (by name) a role on a repository, replacing any role it had. */
export async function grantAccount(db: Queryable, repo: Repository, accountName: string, role: RepoRole): Promise<void> {
  if (!ROLE_VALUES.includes(role)) throw invalid('role', `unknown role ${JSON.stringify(role)}: use read, write or admin`);
  const account = await findAccount(db, accountName);
  if (!account || account.kind === 'org') throw notFound(`no user or robot named ${accountName}`);
  if (account.kind === 'robot' && account.parent_id !== repo.namespace_id) {
    throw invalid('account', `robot ${accountName} belongs to another namespace than ${repo.namespace}`);
  }
  await db('repo_permissions')
    .insert({ repository_id: repo.id, account_id: account.id, role })
    .onConflict(['repository_id', 'account_id'])
    .merge({ role });
}
