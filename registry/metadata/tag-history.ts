// The time machine on top of the tag history (tags.ts): listing a repository's tag rows, moving
// and deleting tags through the API, expirations, restoring a tag to a manifest it pointed at
// inside the namespace's window, and permanently deleting history so it is collectable at once.
// Every change here expects to run inside the caller's transaction.
import type { Queryable } from '../../src/db/index.js';
import { conflict, invalid, notFound } from '../../src/errors.js';
import type { Repository } from '../../src/repos/repositories.js';
import { OCI_INDEX, DOCKER_MANIFEST_LIST } from '../manifest/media-types.js';
import { endTag, lockTag, moveTag, whereVisibleTag } from './tags.js';

export interface TagRecord {
  name: string;
  reversion: boolean;
  lifetimeStart: number;
  lifetimeEnd: number | null;
  manifestDigest: string;
  isManifestList: boolean;
  /** The compressed size of the image's layers; null for an index (as Quay reports it). */
  size: number | null;
}

export interface TagHistoryQuery {
  specificTag?: string;
  /** Quay's `filter_tag_name`: `like` matches a part of the name (any case), `eq` the whole of it. */
  nameFilter?: { op: 'like' | 'eq'; value: string };
  /** Only tags alive now; otherwise every visible row, ended ones included (the history). */
  onlyActive: boolean;
  /** From 1. */
  page: number;
  limit: number;
}

/** Refuses changes to a repository that is READ_ONLY (or MIRROR), as its registry does. */
export function requireNormalState(repo: Repository): void {
  if (repo.state !== 'NORMAL') throw conflict(`the repository is ${repo.state.toLowerCase()}: its tags and labels cannot change`);
}

/** The namespace's time machine window in milliseconds (its `tag_expiration_s`). */
export async function timeMachineWindowMs(db: Queryable, namespaceId: number): Promise<number> {
  const row = await db('accounts').where('id', namespaceId).first('tag_expiration_s');
  return Number(row?.tag_expiration_s ?? 0) * 1000;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** One page of the repository's tag rows, newest first, as Quay orders them; hidden rows never show. */
export async function listTagHistory(db: Queryable, repositoryId: number, q: TagHistoryQuery, now: number): Promise<{ tags: TagRecord[]; hasAdditional: boolean }> {
  // Layers only, the config excepted: Quay's layers_compressed_size.
  const layersSize = db('manifest_blobs as mb')
    .join('blobs as b', 'b.digest', 'mb.digest')
    .whereRaw('mb.manifest_id = m.id')
    .andWhereRaw('(m.config_digest IS NULL OR mb.digest <> m.config_digest)')
    .sum('b.size');
  const query = db('tags as t')
    // A history row whose manifest is gone (deleted by digest, or collected) can be neither shown nor restored.
    .join('manifests as m', (j) => j.on('m.repository_id', 't.repository_id').andOn('m.digest', 't.manifest_digest'))
    .where('t.repository_id', repositoryId)
    .andWhere('t.hidden', false)
    .select('t.name', 't.reversion', 't.lifetime_start', 't.lifetime_end', 't.manifest_digest', 'm.media_type', layersSize.as('layers_size'))
    .orderBy([{ column: 't.lifetime_start', order: 'desc' }, { column: 't.name' }, { column: 't.id', order: 'desc' }])
    .limit(q.limit + 1)
    .offset(q.limit * (q.page - 1));
  if (q.onlyActive) whereVisibleTag(query, now, 't');
  if (q.specificTag !== undefined) query.andWhere('t.name', q.specificTag);
  if (q.nameFilter?.op === 'eq') query.andWhere('t.name', q.nameFilter.value);
  if (q.nameFilter?.op === 'like') query.andWhereRaw(`LOWER(t.name) LIKE ? ESCAPE '\\'`, [`%${escapeLike(q.nameFilter.value.toLowerCase())}%`]);
  const rows: Record<string, unknown>[] = await query;
  const tags = rows.slice(0, q.limit).map((r) => {
    const isManifestList = r.media_type === OCI_INDEX || r.media_type === DOCKER_MANIFEST_LIST;
    return {
      name: String(r.name), reversion: Boolean(r.reversion), lifetimeStart: Number(r.lifetime_start),
      lifetimeEnd: r.lifetime_end === null ? null : Number(r.lifetime_end), manifestDigest: String(r.manifest_digest),
      isManifestList, size: isManifestList ? null : Number(r.layers_size ?? 0),
    };
  });
  return { tags, hasAdditional: rows.length > q.limit };
}

async function requireManifest(db: Queryable, repositoryId: number, digest: string): Promise<void> {
  const row = await db('manifests').where({ repository_id: repositoryId, digest }).first('id');
  if (!row) throw notFound(`manifest ${digest} not found in this repository`);
}

interface AliveTag {
  id: number;
  manifestDigest: string;
  lifetimeStart: number;
  lifetimeEnd: number | null;
}

/** The tag's visible row alive at `now`, or null. */
export async function aliveTag(db: Queryable, repositoryId: number, name: string, now: number): Promise<AliveTag | null> {
  const row = await whereVisibleTag(db('tags').where({ repository_id: repositoryId, name }), now)
    .orderBy('lifetime_start', 'desc')
    .first('id', 'manifest_digest', 'lifetime_start', 'lifetime_end');
  if (!row) return null;
  return {
    id: Number(row.id), manifestDigest: String(row.manifest_digest), lifetimeStart: Number(row.lifetime_start),
    lifetimeEnd: row.lifetime_end === null ? null : Number(row.lifetime_end),
  };
}

/** Creates the tag on, or moves it to, a manifest the repository holds; answers where it pointed before. */
export async function retargetTag(db: Queryable, repositoryId: number, name: string, digest: string): Promise<{ previous: string | null }> {
  await requireManifest(db, repositoryId, digest);
  await lockTag(db, repositoryId, name);
  const before = await aliveTag(db, repositoryId, name, Date.now());
  await moveTag(db, repositoryId, name, digest);
  return { previous: before?.manifestDigest ?? null };
}

export interface ExpirationBounds {
  /** The soonest an expiration may be, counted from the tag's start: a sooner one is moved up to it (Quay). */
  minimumMs: number;
  /** The furthest ahead of now an expiration may be. */
  maximumMs: number;
}

/**
 * Sets (a time in ms) or clears (null) the end of the tag's alive row; answers the previous end.
 * The expiration must lie in the future and within `bounds.maximumMs` of now.
 */
export async function setTagExpiration(
  db: Queryable, repositoryId: number, name: string, expiration: number | null, bounds: ExpirationBounds,
): Promise<{ previousEnd: number | null; end: number | null }> {
  await lockTag(db, repositoryId, name);
  const now = Date.now();
  if (expiration !== null && expiration <= now) throw invalid('expiration', 'the expiration must be in the future');
  if (expiration !== null && expiration > now + bounds.maximumMs) {
    throw invalid('expiration', `the expiration may be at most ${bounds.maximumMs / 1000} seconds ahead (LABELED_EXPIRATION_MAXIMUM)`);
  }
  const tag = await aliveTag(db, repositoryId, name, now);
  if (!tag) throw notFound(`tag ${name} not found`);
  const end = expiration === null ? null : Math.max(expiration, tag.lifetimeStart + bounds.minimumMs);
  // Only the row as read: a /v2 delete does not take the tag lock, and an ended row given a
  // future end would come back to life.
  const row = db('tags').where('id', tag.id);
  if (tag.lifetimeEnd === null) row.whereNull('lifetime_end');
  else row.where('lifetime_end', tag.lifetimeEnd);
  if (!(await row.update({ lifetime_end: end }))) throw notFound(`tag ${name} was deleted while its expiration was being set`);
  return { previousEnd: tag.lifetimeEnd, end };
}

// cosign stores a signature, attestation or SBOM of manifest sha256:X under the tag `sha256-X.sig`
// (`.att`, `.sbom`); Quay ends them with the tag they belong to.
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'];

/**
 * Ends the tag now, keeping its row as history, and the cosign tags of its manifest with it;
 * NOT_FOUND when no such tag is alive. Answers the manifest and the cosign tags ended.
 */
export async function deleteTag(db: Queryable, repositoryId: number, name: string): Promise<{ digest: string; siblings: { name: string; digest: string }[] }> {
  await lockTag(db, repositoryId, name);
  const now = Date.now();
  const tag = await aliveTag(db, repositoryId, name, now);
  if (!tag || !(await endTag(db, repositoryId, name, now))) throw notFound(`tag ${name} not found`);
  const siblings: { name: string; digest: string }[] = [];
  for (const suffix of COSIGN_SUFFIXES) {
    const sibling = `${tag.manifestDigest.replace(':', '-')}.${suffix}`;
    if (sibling === name) continue;
    await lockTag(db, repositoryId, sibling);
    const alive = await aliveTag(db, repositoryId, sibling, now);
    if (alive && (await endTag(db, repositoryId, sibling, now))) siblings.push({ name: sibling, digest: alive.manifestDigest });
  }
  return { digest: tag.manifestDigest, siblings };
}

/** The usage log entries of a deleteTag: Quay's `delete_tag`, one per tag it ended. */
export function deleteTagLogEntries(repo: Repository, tag: string, deleted: { digest: string; siblings: { name: string; digest: string }[] }) {
  return [{ name: tag, digest: deleted.digest }, ...deleted.siblings].map((t) => ({
    kind: 'delete_tag', namespace: { id: repo.namespace_id, name: repo.namespace }, repository: { id: repo.id, name: repo.name },
    metadata: { namespace: repo.namespace, repo: repo.name, tag: t.name, manifest_digest: t.digest },
  }));
}

/**
 * Points the tag back at a manifest it pointed at before, marking the new row a reversion. Only
 * history inside the namespace's time machine window counts, and the manifest must still be held.
 */
export async function restoreTag(db: Queryable, repo: Repository, name: string, digest: string): Promise<{ previous: string | null }> {
  await lockTag(db, repo.id, name);
  const now = Date.now();
  const windowMs = await timeMachineWindowMs(db, repo.namespace_id);
  const history = await db('tags')
    .where({ repository_id: repo.id, name, manifest_digest: digest, hidden: false })
    .andWhere((w) => w.whereNull('lifetime_end').orWhere('lifetime_end', '>', now - windowMs))
    .first('id');
  if (!history) {
    throw notFound(`tag ${name} never pointed at ${digest} within the time machine window (${windowMs / 1000} s)`);
  }
  await requireManifest(db, repo.id, digest);
  const before = await aliveTag(db, repo.id, name, now);
  await moveTag(db, repo.id, name, digest, { reversion: true });
  return { previous: before?.manifestDigest ?? null };
}

/**
 * Ends the tag's history on `digest` before the time machine window, so garbage collection may
 * take it at once (Quay's remove_tag_from_timemachine). `isAlive`: the tag's alive row, which must
 * point at `digest`; otherwise its ended rows on `digest` still inside the window.
 */
export async function expireTagHistory(db: Queryable, repo: Repository, name: string, digest: string, isAlive: boolean): Promise<void> {
  await lockTag(db, repo.id, name);
  const now = Date.now();
  const windowMs = await timeMachineWindowMs(db, repo.namespace_id);
  const rows: { id: number }[] = isAlive
    ? await whereVisibleTag(db('tags').where({ repository_id: repo.id, name, manifest_digest: digest }), now).select('id')
    : await db('tags')
      .where({ repository_id: repo.id, name, manifest_digest: digest, hidden: false })
      .andWhere('lifetime_end', '<=', now)
      .andWhere('lifetime_end', '>', now - windowMs)
      .orderBy('lifetime_end')
      .select('id');
  if (!rows.length) throw notFound(`no ${isAlive ? 'alive tag' : 'history of tag'} ${name} on ${digest} inside the time machine window`);
  // Strictly before the window, each a millisecond apart so that no two rows of the tag share an end.
  let end = now - windowMs - 1;
  for (const row of rows) await db('tags').where('id', row.id).update({ lifetime_end: end-- });
}
