import type { Queryable } from '../../src/db/index.js';
import { lockBlob } from '../gc/blob-guard.js';

// Blob records: `blobs` (global, by digest), `repo_blobs` (which repository may see which blob)
// and `uploads` (uploads in progress, with the size acknowledged so far).
// `missingBlobs` and `repoBlobSize` are the contract the manifest code relies on.

export interface UploadRecord {
  id: string;
  repositoryId: number;
  /** Bytes acknowledged to the client; storage may hold more after a crash, never less. */
  size: number;
}

// Well under SQLite's and PostgreSQL's limits on bound parameters.
const IN_BATCH = 500;

/** The digests among `digests` that the repository has no link to. */
export async function missingBlobs(db: Queryable, repositoryId: number, digests: string[]): Promise<string[]> {
  const wanted = [...new Set(digests)];
  const linked = new Set<string>();
  for (let i = 0; i < wanted.length; i += IN_BATCH) {
    const rows: { digest: string }[] = await db('repo_blobs')
      .where('repository_id', repositoryId)
      .whereIn('digest', wanted.slice(i, i + IN_BATCH))
      .select('digest')
      // Inside the manifest's transaction, the links it relies on cannot be collected under it
      // (the collector locks a link FOR UPDATE before deleting it); SQLite ignores the clause.
      .forShare();
    for (const r of rows) linked.add(r.digest);
  }
  return wanted.filter((d) => !linked.has(d));
}

/** The blob's size when the repository links it, else null. */
export async function repoBlobSize(db: Queryable, repositoryId: number, digest: string): Promise<number | null> {
  const row: { size: number | string } | undefined = await db('repo_blobs as rb')
    .join('blobs as b', 'b.digest', 'rb.digest')
    .where({ 'rb.repository_id': repositoryId, 'rb.digest': digest })
    .first('b.size');
  return row ? Number(row.size) : null;
}

/**
 * Records a blob whose bytes are in place at its content address and links it into the
 * repository; doing it again is harmless.
 */
export async function linkBlob(db: Queryable, repositoryId: number, digest: string, size: number): Promise<void> {
  // Under the digest's lock, so the collector never deletes a blob between its check and this
  // link (registry/gc/collector.ts); a deletion it decided but did not carry out is cancelled.
  await db.transaction(async (tx) => {
    await lockBlob(tx, digest);
    const now = Date.now();
    await tx('blob_deletions').where({ digest }).delete();
    await tx('blobs').insert({ digest, size, created_at: now }).onConflict('digest').ignore();
    // A link made again starts its grace period again: the push making it has a manifest to come.
    await tx('repo_blobs').insert({ repository_id: repositoryId, digest, created_at: now }).onConflict(['repository_id', 'digest']).merge({ created_at: now });
  });
}

/** Removes the repository's link to a blob; false when it had none. The bytes stay for GC. */
export async function unlinkBlob(db: Queryable, repositoryId: number, digest: string): Promise<boolean> {
  return (await db('repo_blobs').where({ repository_id: repositoryId, digest }).delete()) > 0;
}

export async function createUpload(db: Queryable, id: string, repositoryId: number): Promise<UploadRecord> {
  const now = Date.now();
  await db('uploads').insert({ id, repository_id: repositoryId, size: 0, created_at: now, updated_at: now });
  return { id, repositoryId, size: 0 };
}

export async function getUpload(db: Queryable, id: string): Promise<UploadRecord | null> {
  const row: { id: string; repository_id: number; size: number | string } | undefined = await db('uploads')
    .where({ id })
    .first('id', 'repository_id', 'size');
  return row ? { id: row.id, repositoryId: Number(row.repository_id), size: Number(row.size) } : null;
}

/** Records the acknowledged size; called only once the bytes are durable in storage. */
export async function setUploadSize(db: Queryable, id: string, size: number): Promise<void> {
  await db('uploads').where({ id }).update({ size, updated_at: Date.now() });
}

export async function deleteUpload(db: Queryable, id: string): Promise<void> {
  await db('uploads').where({ id }).delete();
}

/** The end of a finished upload: the blob recorded and linked, the upload row gone, at once. */
export async function completeUpload(db: Queryable, id: string, repositoryId: number, digest: string, size: number): Promise<void> {
  await db.transaction(async (tx) => {
    await linkBlob(tx, repositoryId, digest, size);
    await deleteUpload(tx, id);
  });
}
