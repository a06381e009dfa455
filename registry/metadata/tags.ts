// Tags: the `tags` table is their history. A tag is alive while its row has no end or an end in
// the future; moving or deleting a tag ends its row, and a move inserts a new one (Quay's model).
import { createHash } from 'node:crypto';
import type { Queryable } from '../../src/db/index.js';

type Builder = ReturnType<Queryable>;

/** Restricts a query over `tags` (as `alias`) to rows alive at `now` that clients may see. */
export function whereVisibleTag(q: Builder, now: number, alias = 'tags'): Builder {
  return q
    .where(`${alias}.hidden`, false)
    .andWhere((w) => w.whereNull(`${alias}.lifetime_end`).orWhere(`${alias}.lifetime_end`, '>', now));
}

function aliveRows(db: Queryable, repositoryId: number, now: number) {
  return db('tags')
    .where('repository_id', repositoryId)
    .andWhere((w) => w.whereNull('lifetime_end').orWhere('lifetime_end', '>', now));
}

/**
 * Makes concurrent moves of one tag take turns until the transaction ends, so each sees the row
 * the previous one opened. SQLite needs nothing: its single writer already serializes them.
 */
export async function lockTag(db: Queryable, repositoryId: number, name: string): Promise<void> {
  if ((db.client as { dialect?: string }).dialect !== 'postgresql') return;
  const nameKey = createHash('sha1').update(name).digest().readInt32BE(0);
  await db.raw('SELECT pg_advisory_xact_lock(?, ?)', [repositoryId, nameKey]);
}

/** How a moved tag's new row starts out: expiring (milliseconds after its start), or marked as restored from history. */
export interface MoveOptions {
  expiresAfterMs?: number;
  reversion?: boolean;
}

/**
 * Points the tag at the manifest; a tag already there is left as it is, keeping its history
 * short (then it answers false). Call it inside a transaction.
 */
export async function moveTag(db: Queryable, repositoryId: number, name: string, digest: string, opts: MoveOptions = {}): Promise<boolean> {
  await lockTag(db, repositoryId, name);
  // Read the clock only once it is our turn, so a tag's history never runs backwards.
  const now = Date.now();
  const alive: { manifest_digest: string; hidden: boolean | number }[] = await aliveRows(db, repositoryId, now)
    .where('name', name)
    .select('manifest_digest', 'hidden');
  if (alive.length === 1 && alive[0]!.manifest_digest === digest && !alive[0]!.hidden) return false;
  await aliveRows(db, repositoryId, now).where('name', name).update({ lifetime_end: now });
  await db('tags').insert({
    repository_id: repositoryId, name, manifest_digest: digest, lifetime_start: now,
    lifetime_end: opts.expiresAfterMs === undefined ? null : now + opts.expiresAfterMs, reversion: opts.reversion ?? false,
  });
  return true;
}

/** Ends a visible tag; false when there was none. */
export async function endTag(db: Queryable, repositoryId: number, name: string, now: number): Promise<boolean> {
  const ended = await whereVisibleTag(db('tags').where({ repository_id: repositoryId, name }), now).update({ lifetime_end: now });
  return ended > 0;
}

/** Ends every tag, hidden ones included, that points at the manifest. */
export async function endTagsOf(db: Queryable, repositoryId: number, digest: string, now: number): Promise<void> {
  await aliveRows(db, repositoryId, now).where('manifest_digest', digest).update({ lifetime_end: now });
}

/**
 * One page of visible tag names in byte order (the database compares tag names bytewise; see
 * migration 002), starting after `last`.
 */
export async function listTagNames(db: Queryable, repositoryId: number, page: { last?: string; limit?: number }, now: number): Promise<string[]> {
  const q = whereVisibleTag(db('tags').where('repository_id', repositoryId), now).distinct('name').orderBy('name');
  if (page.last !== undefined) q.andWhere('name', '>', page.last);
  if (page.limit !== undefined) q.limit(page.limit);
  const rows: { name: string }[] = await q;
  return rows.map((r) => r.name);
}
