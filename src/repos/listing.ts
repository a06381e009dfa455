// Repository lists and the summaries shown with them. Tags are read straight from the `tags`
// table (the registry owns it, and the core may not import the registry).
import type { Queryable } from '../db/index.js';
import { invalid } from '../errors.js';
import { toRepository, type Repository, type RepoKind } from './repositories.js';

export interface RepositoryListQuery {
  /** The ids the caller may see (a policy subquery). */
  visible: ReturnType<Queryable>;
  namespace?: string;
  kind: RepoKind;
  limit: number;
  /** The opaque token of the previous page. */
  nextPage?: string;
  withLastModified: boolean;
  withPopularity: boolean;
}

export interface ListedRepository {
  repo: Repository;
  /** Seconds since the epoch of the newest live tag's push; null without tags. */
  lastModified?: number | null;
  /** How many usage log entries the repository had in the last week. */
  popularity?: number;
}

const POPULARITY_WINDOW_MS = 7 * 24 * 3600 * 1000;

// The token only carries where the previous page ended; the visibility filter runs again on every
// page, so a forged token can skip repositories but never reveal one.
function encodePage(afterId: number): string {
  return Buffer.from(JSON.stringify({ v: 1, after: afterId })).toString('base64url');
}

function decodePage(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: number; after?: unknown };
    if (parsed.v === 1 && Number.isSafeInteger(parsed.after)) return parsed.after as number;
  } catch {
    // fall through
  }
  throw invalid('next_page', 'next_page is not a token this server issued');
}

/** One page of repositories in creation order, and the token of the next page when there is one. */
export async function listRepositories(db: Queryable, q: RepositoryListQuery): Promise<{ items: ListedRepository[]; nextPage?: string }> {
  const query = db('repositories as r')
    .join('accounts as a', 'a.id', 'r.namespace_id')
    .whereIn('r.id', q.visible)
    .andWhere('r.kind', q.kind)
    .select('r.*', 'a.name as namespace')
    .orderBy('r.id')
    .limit(q.limit + 1);
  if (q.namespace !== undefined) query.andWhere('a.name', q.namespace);
  if (q.nextPage !== undefined) query.andWhere('r.id', '>', decodePage(q.nextPage));
  if (q.withLastModified) {
    const now = Date.now();
    query.select(
      db('tags as t').max('t.lifetime_start').whereRaw('t.repository_id = r.id').where('t.hidden', false)
        .andWhere((w) => w.whereNull('t.lifetime_end').orWhere('t.lifetime_end', '>', now))
        .as('last_modified'),
    );
  }
  if (q.withPopularity) {
    query.select(db('usage_logs as l').count('*').whereRaw('l.repository_id = r.id').where('l.created_at', '>', Date.now() - POPULARITY_WINDOW_MS).as('popularity'));
  }
  const rows: Record<string, unknown>[] = await query;
  const page = rows.slice(0, q.limit);
  const items = page.map((row): ListedRepository => ({
    repo: toRepository(row),
    ...(q.withLastModified ? { lastModified: row.last_modified == null ? null : Math.floor(Number(row.last_modified) / 1000) } : {}),
    ...(q.withPopularity ? { popularity: Number(row.popularity ?? 0) } : {}),
  }));
  return { items, ...(rows.length > q.limit ? { nextPage: encodePage(Number(page[page.length - 1]!.id)) } : {}) };
}

export interface CurrentTag {
  name: string;
  manifestDigest: string;
  /** Milliseconds since the epoch. */
  lastModified: number;
}

/** The repository's live, visible tags (newest first, at most `limit`). */
export async function currentTags(db: Queryable, repositoryId: number, limit = 500): Promise<CurrentTag[]> {
  const now = Date.now();
  const rows: { name: string; manifest_digest: string; lifetime_start: number }[] = await db('tags')
    .where({ repository_id: repositoryId, hidden: false })
    .andWhere((w) => w.whereNull('lifetime_end').orWhere('lifetime_end', '>', now))
    .select('name', 'manifest_digest', 'lifetime_start')
    .orderBy([{ column: 'lifetime_start', order: 'desc' }, { column: 'name' }])
    .limit(limit);
  return rows.map((r) => ({ name: r.name, manifestDigest: r.manifest_digest, lastModified: Number(r.lifetime_start) }));
}
