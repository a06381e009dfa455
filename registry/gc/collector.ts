// One garbage collection pass: abandoned uploads → tags past the time machine window → manifests
// nothing keeps (retention.ts) → repository links to blobs no kept manifest uses → blobs no
// repository links → their bytes in storage.
//
// Why it is safe beside pushes, on several replicas at once, and killed at any moment:
//
// - Every decision is taken twice: a cheap query finds candidates, then each one is rechecked
//   and deleted in its own short transaction. Two collectors racing on the same candidate both
//   recheck; the second finds nothing left to do.
// - Grace (GC_GRACE_SECONDS). A push uploads its blobs before its manifest, and may push child
//   manifests before their index: blobs, links and manifests younger than the grace period are
//   never collected. linkBlob restarts a link's grace whenever a push links the blob again.
// - A manifest and the links it needs. storeManifest reads the links it relies on FOR SHARE
//   inside its transaction (metadata/blobs.ts missingBlobs); the collector deletes a link only
//   after locking it FOR UPDATE and then, in a new statement, finding no manifest that uses it.
//   Either the manifest commits first and the collector sees it, or the link is gone first and
//   the manifest push is refused with MANIFEST_BLOB_UNKNOWN; never a manifest without its blobs.
//   (SQLite runs one write transaction at a time, which gives the same order.)
// - A blob and its bytes. All of the following hold the digest's lock (blob-guard.ts: a
//   PostgreSQL advisory lock; SQLite's single writer): the collector deleting the `blobs` row,
//   which it does together with recording a pending deletion in `blob_deletions`; the collector
//   deleting the bytes, which it does only while that pending deletion is still recorded, and
//   removing the record in the same transaction; a push claiming the digest (claimBlob) before it
//   places bytes at the content address or relies on bytes already there, which cancels a
//   pending deletion; and linkBlob, which cancels one too. So once a push has claimed a digest,
//   the bytes it placed or found are never deleted: either the deletion was already carried out
//   (the file is gone, and the push's commit moves its own bytes into place), or it is cancelled
//   before it happens. A claim also keeps the collector from deciding a new deletion of that
//   digest for the grace period, by which time the push has linked the blob.
// - Killed at any moment. Deleting a row and recording the pending deletion commit together;
//   the bytes go only after that, and the record only with them. A pass killed in between leaves
//   the record, and the next pass finishes the deletion. A push killed after placing bytes but
//   before linking them leaves a claim with no `blobs` row; once the claim is past the grace
//   period, a pass deletes those orphan bytes under the lock.
// - What is left open: a tag moved (by a push or the tag API) onto an untagged manifest older
//   than the grace period, or an index pushed naming such a manifest as its child, in the very
//   instant the collector deletes that manifest, can end up pointing at nothing (the manifest
//   code reads those rows without a lock the collector could wait on); a blob a client saw with
//   HEAD and then named in a manifest after the collector removed the link is refused with
//   MANIFEST_BLOB_UNKNOWN, and the client pushes again. Code that places bytes must claim the
//   digest first (claimBlob), as uploads.ts does; bytes placed without a claim are not protected.
import type { Db, Queryable } from '../../src/db/index.js';
import type { BlobDeleter, BlobIngester } from '../storage/blob-store.js';
import { lockBlob } from './blob-guard.js';
import { collectableManifests, stillCollectable, type ManifestNode, type RetentionClock } from './retention.js';

export interface GcDeps {
  db: Db;
  blobs: BlobDeleter & Pick<BlobIngester, 'deleteUpload'>;
  graceSeconds: number;
  uploadExpirySeconds: number;
}

export interface GcSummary {
  uploads: number;
  tags: number;
  manifests: number;
  links: number;
  blobs: number;
  bytesFreed: number;
  /** Claims of pushes that never linked their blob (killed, or refused the digest); their bytes, if any, removed. */
  orphans: number;
}

export type GcPhase = 'uploads' | 'tags' | 'manifests' | 'links' | 'blobs' | 'storage' | 'orphans';

/** Called as the pass goes: `done` of `total` items of the phase (total grows as pages are read). */
export type GcProgress = (phase: GcPhase, done: number, total: number) => void;

const PAGE = 500;

export async function collectGarbage(deps: GcDeps, opts: { now?: number; onProgress?: GcProgress } = {}): Promise<GcSummary> {
  const now = opts.now ?? Date.now();
  const progress = opts.onProgress ?? (() => {});
  const graceMs = deps.graceSeconds * 1000;
  const summary: GcSummary = { uploads: 0, tags: 0, manifests: 0, links: 0, blobs: 0, bytesFreed: 0, orphans: 0 };
  // Each phase announces itself, so a watcher sees the pass move even when a phase finds nothing.
  const phase = <T>(name: GcPhase, run: () => Promise<T>) => (progress(name, 0, 0), run());
  summary.uploads = await phase('uploads', () => expireUploads(deps, now - deps.uploadExpirySeconds * 1000, progress));
  summary.tags = await phase('tags', () => deleteTagsPastWindow(deps.db, now, progress));
  summary.manifests = await phase('manifests', () => deleteManifests(deps.db, now, graceMs, progress));
  summary.links = await phase('links', () => deleteLinks(deps.db, now - graceMs, progress));
  summary.blobs = await phase('blobs', () => markBlobs(deps.db, now - graceMs, progress));
  summary.bytesFreed = await phase('storage', () => deleteMarkedBytes(deps, progress));
  summary.orphans = await phase('orphans', () => sweepExpiredClaims(deps, now - graceMs, progress));
  return summary;
}

/** Uploads no chunk reached for a long time: their bytes first, so a kill leaves no orphan file. */
async function expireUploads(deps: GcDeps, cutoff: number, progress: GcProgress): Promise<number> {
  const rows: { id: string; updated_at: number }[] = await deps.db('uploads').where('updated_at', '<=', cutoff).select('id', 'updated_at');
  let done = 0;
  for (const row of rows) {
    await deps.blobs.deleteUpload(row.id);
    // Only if no chunk arrived since we looked.
    done += await deps.db('uploads').where({ id: row.id, updated_at: row.updated_at }).delete();
    progress('uploads', done, rows.length);
  }
  return done;
}

/** Tag history rows that ended longer ago than their namespace's time machine window. */
async function deleteTagsPastWindow(db: Db, now: number, progress: GcProgress): Promise<number> {
  let done = 0;
  for (;;) {
    const rows: { id: number; window_s: number }[] = await db('tags as t')
      .join('repositories as r', 'r.id', 't.repository_id')
      .join('accounts as a', 'a.id', 'r.namespace_id')
      .whereNotNull('t.lifetime_end')
      .andWhereRaw('t.lifetime_end <= CAST(? AS BIGINT) - a.tag_expiration_s * 1000', [now])
      .select('t.id', 'a.tag_expiration_s as window_s')
      .limit(PAGE);
    if (!rows.length) return done;
    // Grouped by window so the delete rechecks each row's end against its own cutoff.
    const byWindow = new Map<number, number[]>();
    for (const r of rows) byWindow.set(Number(r.window_s), [...(byWindow.get(Number(r.window_s)) ?? []), Number(r.id)]);
    let deleted = 0;
    for (const [windowS, ids] of byWindow) {
      deleted += await db('tags').whereIn('id', ids).whereNotNull('lifetime_end').andWhere('lifetime_end', '<=', now - windowS * 1000).delete();
    }
    done += deleted;
    progress('tags', done, done);
    if (deleted === 0) return done;
  }
}

async function deleteManifests(db: Db, now: number, graceMs: number, progress: GcProgress): Promise<number> {
  const repos: { repository_id: number; window_s: number }[] = await db('manifests as m')
    .join('repositories as r', 'r.id', 'm.repository_id')
    .join('accounts as a', 'a.id', 'r.namespace_id')
    .where('m.created_at', '<=', now - graceMs)
    .distinct('m.repository_id', 'a.tag_expiration_s as window_s');
  let done = 0;
  let total = 0;
  for (const repo of repos) {
    const clock: RetentionClock = { now, windowMs: Number(repo.window_s) * 1000, graceMs };
    let pending = await collectableManifests(db, Number(repo.repository_id), clock);
    total += pending.length;
    // Rounds: an index goes before its children, a subject before its referrers.
    while (pending.length) {
      const left: ManifestNode[] = [];
      for (const node of pending) {
        if (await deleteManifestIfCollectable(db, Number(repo.repository_id), node, clock)) {
          done++;
          progress('manifests', done, total);
        } else {
          left.push(node);
        }
      }
      if (left.length === pending.length) break;
      pending = left;
    }
  }
  return done;
}

async function deleteManifestIfCollectable(db: Db, repositoryId: number, node: ManifestNode, clock: RetentionClock): Promise<boolean> {
  return db.transaction(async (tx) => {
    const locked = await tx('manifests').where({ id: node.id }).forUpdate().first('id');
    if (!locked || !(await stillCollectable(tx, repositoryId, node, clock))) return false;
    // manifest_blobs, manifest_children and manifest_labels go with it (ON DELETE CASCADE).
    await tx('manifests').where({ id: node.id }).delete();
    return true;
  });
}

/** The manifests of the link's repository that use its blob (for NOT EXISTS). */
function usersOf(db: Queryable, repoColumn: string, digestColumn: string) {
  return db('manifest_blobs as mb')
    .join('manifests as m', 'm.id', 'mb.manifest_id')
    .whereRaw(`m.repository_id = ${repoColumn}`)
    .andWhereRaw(`mb.digest = ${digestColumn}`)
    .select(db.raw('1'));
}

async function deleteLinks(db: Db, cutoff: number, progress: GcProgress): Promise<number> {
  let done = 0;
  let seen = 0;
  let after: { repositoryId: number; digest: string } | null = null;
  for (;;) {
    const q = db('repo_blobs as rb')
      .where('rb.created_at', '<=', cutoff)
      .whereNotExists(usersOf(db, 'rb.repository_id', 'rb.digest'))
      .orderBy(['rb.repository_id', 'rb.digest'])
      .select('rb.repository_id', 'rb.digest')
      .limit(PAGE);
    if (after) {
      const a = after;
      q.andWhere((w) => w.where('rb.repository_id', '>', a.repositoryId).orWhere((x) => x.where('rb.repository_id', a.repositoryId).andWhere('rb.digest', '>', a.digest)));
    }
    const rows: { repository_id: number; digest: string }[] = await q;
    if (!rows.length) return done;
    seen += rows.length;
    for (const row of rows) {
      const repositoryId = Number(row.repository_id);
      const deleted = await db.transaction(async (tx) => {
        const link = await tx('repo_blobs').where({ repository_id: repositoryId, digest: row.digest }).andWhere('created_at', '<=', cutoff).forUpdate().first('digest');
        if (!link) return false;
        // A statement of its own, after the lock: it sees a manifest that committed while we waited.
        const used = await tx('manifest_blobs as mb')
          .join('manifests as m', 'm.id', 'mb.manifest_id')
          .where({ 'm.repository_id': repositoryId, 'mb.digest': row.digest })
          .first('m.id');
        if (used) return false;
        await tx('repo_blobs').where({ repository_id: repositoryId, digest: row.digest }).delete();
        return true;
      });
      if (deleted) done++;
      progress('links', done, seen);
    }
    const last = rows[rows.length - 1]!;
    after = { repositoryId: Number(last.repository_id), digest: last.digest };
  }
}

function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** The blob is unreferenced, old enough and unclaimed (all checked in one query). */
function collectableBlobs(db: Queryable, cutoff: number) {
  return db('blobs as b')
    .where('b.created_at', '<=', cutoff)
    .whereNotExists(db('repo_blobs as rb').whereRaw('rb.digest = b.digest').select(db.raw('1')))
    // A manifest anywhere naming the blob keeps it, link or not: never break a manifest.
    .whereNotExists(db('manifest_blobs as mb').whereRaw('mb.digest = b.digest').select(db.raw('1')))
    .whereNotExists(db('blob_claims as c').whereRaw('c.digest = b.digest').andWhere('c.claimed_at', '>', cutoff).select(db.raw('1')));
}

/** Deletes the rows of collectable blobs, each with its pending deletion recorded. */
async function markBlobs(db: Db, cutoff: number, progress: GcProgress): Promise<number> {
  let done = 0;
  let seen = 0;
  let after = '';
  for (;;) {
    const rows: { digest: string }[] = await collectableBlobs(db, cutoff).andWhere('b.digest', '>', after).orderBy('b.digest').select('b.digest').limit(PAGE);
    if (!rows.length) return done;
    seen += rows.length;
    for (const { digest } of rows) {
      const marked = await db.transaction(async (tx) => {
        await lockBlob(tx, digest);
        const blob: { size: number } | undefined = await collectableBlobs(tx, cutoff).andWhere('b.digest', digest).first('b.size');
        if (!blob) return false;
        await tx('blobs').where({ digest }).delete();
        await tx('blob_deletions').insert({ digest, size: Number(blob.size), marked_at: Date.now() }).onConflict('digest').merge();
        return true;
      }).catch((err: unknown) => {
        // A link written without the lock (by code that skipped linkBlob) makes the delete break
        // the foreign key: the blob is in use after all, and the transaction has rolled back.
        if (isForeignKeyViolation(err)) return false;
        throw err;
      });
      if (marked) done++;
      progress('blobs', done, seen);
    }
    after = rows[rows.length - 1]!.digest;
  }
}

/** Carries out every pending deletion, this pass's and any a killed pass left; bytes freed. */
async function deleteMarkedBytes(deps: GcDeps, progress: GcProgress): Promise<number> {
  const pending: { digest: string }[] = await deps.db('blob_deletions').orderBy('digest').select('digest');
  let freed = 0;
  let done = 0;
  for (const { digest } of pending) {
    freed += await deps.db.transaction(async (tx) => {
      await lockBlob(tx, digest);
      const mark: { size: number } | undefined = await tx('blob_deletions').where({ digest }).first('size');
      // Gone: another collector carried it out, or a push cancelled it.
      if (!mark) return 0;
      // A killed transaction keeps the mark, and the next pass deletes (nothing) again.
      await deps.blobs.deleteBlob(digest);
      await tx('blob_deletions').where({ digest }).delete();
      return Number(mark.size);
    });
    progress('storage', ++done, pending.length);
  }
  return freed;
}

/** Claims past the grace period: a claim whose push never linked its blob leaves orphan bytes. */
async function sweepExpiredClaims(deps: GcDeps, cutoff: number, progress: GcProgress): Promise<number> {
  const claims: { digest: string }[] = await deps.db('blob_claims').where('claimed_at', '<=', cutoff).select('digest');
  let orphans = 0;
  let done = 0;
  for (const { digest } of claims) {
    orphans += await deps.db.transaction(async (tx) => {
      await lockBlob(tx, digest);
      const claim = await tx('blob_claims').where({ digest }).andWhere('claimed_at', '<=', cutoff).first('digest');
      if (!claim) return 0;
      await tx('blob_claims').where({ digest }).delete();
      const linked = await tx('blobs').where({ digest }).first('digest');
      const marked = await tx('blob_deletions').where({ digest }).first('digest');
      if (linked || marked) return 0;
      await deps.blobs.deleteBlob(digest);
      return 1;
    });
    progress('orphans', ++done, claims.length);
  }
  return orphans;
}

