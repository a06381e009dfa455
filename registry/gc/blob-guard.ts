// The per-digest lock and claim through which pushes and the garbage collector agree on a blob's
// bytes. The protocol as a whole is explained at the top of collector.ts.
import { createHash } from 'node:crypto';
import type { Queryable } from '../../src/db/index.js';

// The first half of every blob lock's key: keeps blob locks apart from the tag locks in
// metadata/tags.ts, which use the repository id there.
const BLOB_LOCK_SPACE = -0x51_1b;

export function isPostgres(db: Queryable): boolean {
  return (db.client as { dialect?: string }).dialect === 'postgresql';
}

/**
 * Holds the digest's lock until the transaction `tx` ends. On SQLite every write transaction
 * already runs alone (BEGIN IMMEDIATE, see src/db/sqlite-client.ts), which is the same guarantee.
 */
export async function lockBlob(tx: Queryable, digest: string): Promise<void> {
  if (!isPostgres(tx)) return;
  const key = createHash('sha1').update(digest).digest().readInt32BE(0);
  await tx.raw('SELECT pg_advisory_xact_lock(?, ?)', [BLOB_LOCK_SPACE, key]);
}

/**
 * Called before a push places bytes at `digest`'s content address (or relies on bytes already
 * there): cancels a deletion the collector has decided but not carried out, and keeps the
 * collector off the digest for its grace period, by which time the push has linked the blob.
 */
export async function claimBlob(db: Queryable, digest: string): Promise<void> {
  await db.transaction(async (tx) => {
    await lockBlob(tx, digest);
    await tx('blob_deletions').where({ digest }).delete();
    await tx('blob_claims').insert({ digest, claimed_at: Date.now() }).onConflict('digest').merge();
  });
}
