// Manifest records: `manifests` (raw bytes as pushed, per repository), the blobs and child
// manifests each references, and how tags and digests resolve to them.
import type { Queryable } from '../../src/db/index.js';
import { regErr } from '../errors.js';
import { createContentCache } from '../manifest/content-cache.js';
import type { ParsedManifest } from '../manifest/parse.js';
import { missingBlobs } from './blobs.js';
import { preparedFirst } from '../../src/db/prepared.js';
import { endTagsOf, moveTag } from './tags.js';
import { EXPIRES_AFTER_LABEL, expiresAfterMs, indexExpiresAfterMs, insertPushedLabels } from './labels.js';

export interface RepoPath {
  namespace: string;
  repository: string;
}

/** What a GET or HEAD answers with before the bytes themselves. */
export interface ManifestHead {
  repositoryId: number;
  digest: string;
  mediaType: string;
  size: number;
}

const contents = createContentCache(64 * 1024 * 1024);

// Resolving by repository name in the same query saves the separate repository lookup on the
// hot path: a pull by tag is one prepared query when the bytes are cached.
const HEAD_FROM = `SELECT m.repository_id, m.digest, m.media_type, m.size
  FROM manifests m
  JOIN repositories r ON r.id = m.repository_id
  JOIN accounts a ON a.id = r.namespace_id`;

// The tag conditions are whereVisibleTag's, written out for the prepared statement.
const byTag = preparedFirst<HeadRow>('manifest-by-tag', `${HEAD_FROM}
  JOIN tags t ON t.repository_id = m.repository_id AND t.manifest_digest = m.digest
  WHERE a.name = ? AND r.name = ? AND t.name = ? AND t.hidden = false
    AND (t.lifetime_end IS NULL OR t.lifetime_end > ?)
  ORDER BY t.lifetime_start DESC
  LIMIT 1`);

const byDigest = preparedFirst<HeadRow>('manifest-by-digest', `${HEAD_FROM}
  WHERE a.name = ? AND r.name = ? AND m.digest = ?`);

interface HeadRow {
  repository_id: number;
  digest: string;
  media_type: string;
  size: number | string;
}

function toHead(row: HeadRow | undefined): ManifestHead | null {
  if (!row) return null;
  return { repositoryId: Number(row.repository_id), digest: row.digest, mediaType: row.media_type, size: Number(row.size) };
}

export async function resolveTag(db: Queryable, path: RepoPath, tag: string, now: number): Promise<ManifestHead | null> {
  return toHead(await byTag(db, [path.namespace, path.repository, tag, now]));
}

export async function resolveDigest(db: Queryable, path: RepoPath, digest: string): Promise<ManifestHead | null> {
  return toHead(await byDigest(db, [path.namespace, path.repository, digest]));
}

/** The manifest's bytes, exactly as pushed; null when the repository no longer holds it. */
export async function manifestContent(db: Queryable, head: ManifestHead): Promise<Buffer | null> {
  const hit = contents.get(head.digest);
  if (hit) return hit;
  const row = await db('manifests').where({ repository_id: head.repositoryId, digest: head.digest }).first('content');
  if (!row) return null;
  const bytes = Buffer.from(row.content as Uint8Array);
  contents.set(head.digest, bytes);
  return bytes;
}

/** A blob or child manifest the repository does not hold; the detail is its digest, as distribution has it. */
export function referenceUnknown(digest: string) {
  return regErr('MANIFEST_BLOB_UNKNOWN', `manifest references ${digest}, which this repository does not hold`, digest);
}

/** Refuses a manifest whose blobs or child manifests this repository does not hold. */
async function requireReferences(db: Queryable, repositoryId: number, parsed: ParsedManifest): Promise<void> {
  const missing = parsed.blobs.length ? await missingBlobs(db, repositoryId, parsed.blobs) : [];
  if (parsed.children.length) {
    const rows: { digest: string }[] = await db('manifests')
      .where('repository_id', repositoryId)
      .whereIn('digest', parsed.children)
      .select('digest');
    const present = new Set(rows.map((r) => r.digest));
    missing.push(...parsed.children.filter((d) => !present.has(d)));
  }
  if (missing.length) throw referenceUnknown(missing[0]!);
}

/** Inserts the manifest row and its reference rows; a manifest already stored is left alone. */
async function insertManifest(db: Queryable, repositoryId: number, input: StoreManifestInput, now: number): Promise<void> {
  const { parsed } = input;
  const inserted: { id: number }[] = await db('manifests')
    .insert({
      repository_id: repositoryId, digest: input.digest, media_type: parsed.mediaType,
      artifact_type: parsed.artifactType, config_digest: parsed.configDigest, subject_digest: parsed.subject,
      size: input.bytes.length, content: input.bytes, created_at: now,
    })
    .onConflict(['repository_id', 'digest'])
    .ignore()
    .returning('id');
  if (!inserted.length) return;
  const id = Number(inserted[0]!.id);
  if (parsed.blobs.length) await db('manifest_blobs').insert(parsed.blobs.map((digest) => ({ manifest_id: id, digest })));
  if (parsed.children.length) {
    await db('manifest_children').insert(parsed.children.map((child_digest) => ({ manifest_id: id, child_digest })));
  }
  if (input.labels) await insertPushedLabels(db, id, input.labels, now);
}

export interface StoreManifestInput {
  digest: string;
  bytes: Buffer;
  parsed: ParsedManifest;
  /** The tag to point at the manifest; none when it was pushed by digest. */
  tag?: string;
  /** The image config's labels, stored read-only with a new manifest; `quay.expires-after` sets the tag's end. */
  labels?: Record<string, string>;
}

/** How long a tag pushed onto the manifest lives, from its own label or (an index) its children's. */
async function pushedExpiry(db: Queryable, repositoryId: number, input: StoreManifestInput): Promise<number | undefined> {
  if (input.parsed.shape === 'index') return indexExpiresAfterMs(db, repositoryId, input.parsed.children);
  return expiresAfterMs(input.labels?.[EXPIRES_AFTER_LABEL]);
}

/**
 * Stores a validated manifest and moves its tag, all in one transaction: a failure leaves the
 * repository as it was. Throws MANIFEST_BLOB_UNKNOWN for a missing blob or child manifest.
 */
export async function storeManifest(db: Queryable, repositoryId: number, input: StoreManifestInput): Promise<void> {
  await db.transaction(async (tx) => {
    await requireReferences(tx, repositoryId, input.parsed);
    await insertManifest(tx, repositoryId, input, Date.now());
    if (input.tag !== undefined) {
      await moveTag(tx, repositoryId, input.tag, input.digest, { expiresAfterMs: await pushedExpiry(tx, repositoryId, input) });
    }
  });
  contents.set(input.digest, input.bytes);
}

/** Ends every tag on the manifest and removes it from the repository; false when it was not there. */
export async function deleteManifest(db: Queryable, repositoryId: number, digest: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const row = await tx('manifests').where({ repository_id: repositoryId, digest }).first('id');
    if (!row) return false;
    await endTagsOf(tx, repositoryId, digest, Date.now());
    await tx('manifest_blobs').where('manifest_id', row.id).delete();
    await tx('manifest_children').where('manifest_id', row.id).delete();
    await tx('manifests').where('id', row.id).delete();
    return true;
  });
}

export interface Referrer {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The manifests in the repository whose subject is `subject`, oldest first. */
export async function listReferrers(db: Queryable, repositoryId: number, subject: string, artifactType?: string): Promise<Referrer[]> {
  const q = db('manifests')
    .where({ repository_id: repositoryId, subject_digest: subject })
    .orderBy(['created_at', 'id'])
    .select('digest', 'media_type', 'size', 'artifact_type', 'content');
  if (artifactType !== undefined) q.andWhere('artifact_type', artifactType);
  const rows: Record<string, unknown>[] = await q;
  return rows.map((row) => {
    // Stored bytes were validated on push, so their annotations (if any) are a string map.
    const annotations = JSON.parse(Buffer.from(row.content as Uint8Array).toString('utf8')).annotations as Record<string, string> | undefined;
    return {
      mediaType: String(row.media_type), digest: String(row.digest), size: Number(row.size),
      ...(row.artifact_type ? { artifactType: String(row.artifact_type) } : {}),
      ...(annotations ? { annotations } : {}),
    };
  });
}
