// Labels on manifests (Quay's model): an image config's labels are stored at push as read-only
// `manifest` labels; `api` labels are added and deleted through the REST API. A label belongs
// to one manifest row and goes when the manifest does.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Queryable } from '../../src/db/index.js';
import { invalid, notFound } from '../../src/errors.js';
import { durationSeconds } from '../../src/config/durations.js';
import type { ParsedManifest } from '../manifest/parse.js';
import type { BlobReader, BlobStatter } from '../storage/blob-store.js';

export type LabelMediaType = 'text/plain' | 'application/json';
export const LABEL_MEDIA_TYPES: readonly LabelMediaType[] = ['text/plain', 'application/json'];
export type LabelSource = 'manifest' | 'api';

export interface Label {
  id: string;
  key: string;
  value: string;
  source_type: LabelSource;
  media_type: LabelMediaType;
}

/** Quay's VALID_LABEL_KEY_REGEX: lowercase alphanumerics, with single `.` or `-` between them. */
export const LABEL_KEY_RE = /^[a-z0-9](([a-z0-9]|[-.](?![.-]))*[a-z0-9])?$/;
/** Quay's DEFAULT_LABEL_KEY_RESERVED_PREFIXES: keys the API may not set. */
export const RESERVED_LABEL_PREFIXES = [
  'com.docker.', 'io.docker.', 'org.dockerproject.', 'org.opencontainers.', 'io.cncf.', 'io.kubernetes.',
  'io.k8s.', 'io.quay', 'com.coreos', 'com.tectonic', 'internal', 'quay',
];

/** The label whose value (`<n>s|m|h|d|w`) makes a pushed tag expire. */
export const EXPIRES_AFTER_LABEL = 'quay.expires-after';

// The image config media types whose `config.Labels` are image labels; other configs are artifacts'.
const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
// A config holding more labels than this is not a real image's; the rest are dropped.
const MAX_PUSHED_LABELS = 1000;
const INSERT_BATCH = 100;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Quay's is_json: a value that looks like a JSON object or array and parses is JSON. */
function mediaTypeOf(value: string): LabelMediaType {
  const t = value.trim();
  if (!((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']')))) return 'text/plain';
  try {
    JSON.parse(t);
    return 'application/json';
  } catch {
    return 'text/plain';
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The labels in an image manifest's config blob (`config.Labels`); none for an index, an
 * artifact, or a config larger than `maxBytes`. A config that cannot be read or parsed has no
 * labels rather than failing the push: whether the manifest is valid is decided elsewhere.
 */
export async function imageConfigLabels(blobs: BlobStatter & BlobReader, parsed: ParsedManifest, maxBytes: number): Promise<Record<string, string>> {
  // For an image manifest without a declared artifactType, artifactType is the config's media type.
  if (parsed.shape !== 'image' || !parsed.configDigest || !IMAGE_CONFIG_TYPES.has(parsed.artifactType ?? '')) return {};
  try {
    const size = await blobs.statBlob(parsed.configDigest);
    if (size === null || size > maxBytes) return {};
    const config: unknown = JSON.parse((await readAll(await blobs.openBlob(parsed.configDigest))).toString('utf8'));
    const labels = isObject(config) && isObject(config.config) ? config.config.Labels : undefined;
    if (!isObject(labels)) return {};
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
    return out;
  } catch {
    return {};
  }
}

/**
 * Milliseconds a `quay.expires-after` value asks for; undefined for anything else. As Quay does,
 * an invalid value is ignored (the tag simply does not expire) instead of refusing the push.
 */
export function expiresAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = durationSeconds(value.trim());
  // Past ~285,000 years the end no longer fits a safe integer of milliseconds: not a real request.
  if (seconds === null || !Number.isSafeInteger(seconds * 1000 + Date.now())) return undefined;
  return seconds * 1000;
}

/**
 * The expiration an index takes from its children: Quay applies `quay.expires-after` to a
 * manifest list only when every child carries the same value.
 */
export async function indexExpiresAfterMs(db: Queryable, repositoryId: number, children: readonly string[]): Promise<number | undefined> {
  if (!children.length) return undefined;
  const rows: { digest: string; value: string }[] = await db('manifest_labels as l')
    .join('manifests as m', 'm.id', 'l.manifest_id')
    .where({ 'm.repository_id': repositoryId, 'l.key': EXPIRES_AFTER_LABEL })
    .whereIn('m.digest', [...children])
    .select('m.digest', 'l.value');
  const values = new Set(rows.map((r) => r.value));
  const labelled = new Set(rows.map((r) => r.digest));
  if (values.size !== 1 || labelled.size !== new Set(children).size) return undefined;
  return expiresAfterMs([...values][0]);
}

/** The expiration a stored image manifest's own `quay.expires-after` label asks for (a build's tags take it too). */
export function manifestExpiresAfterMs(db: Queryable, repositoryId: number, digest: string): Promise<number | undefined> {
  return indexExpiresAfterMs(db, repositoryId, [digest]);
}

/** Stores an image config's labels as read-only labels of a newly stored manifest. */
export async function insertPushedLabels(db: Queryable, manifestId: number, labels: Record<string, string>, now: number): Promise<void> {
  // Quay stores config labels whatever their key (Docker lets any key in); an empty key means
  // nothing, and one longer than the column cannot be stored.
  const rows = Object.entries(labels)
    .filter(([key]) => key.length > 0 && key.length <= 255)
    .slice(0, MAX_PUSHED_LABELS)
    .map(([key, value]) => ({
      uuid: randomUUID(), manifest_id: manifestId, key, value, media_type: mediaTypeOf(value), source_type: 'manifest', created_at: now,
    }));
  for (let i = 0; i < rows.length; i += INSERT_BATCH) await db('manifest_labels').insert(rows.slice(i, i + INSERT_BATCH));
}

/** The id of the manifest row `digest` in the repository; NOT_FOUND when the repository does not hold it. */
export async function requireManifestId(db: Queryable, repositoryId: number, digest: string): Promise<number> {
  const row = await db('manifests').where({ repository_id: repositoryId, digest }).first('id');
  if (!row) throw notFound(`manifest ${digest} not found in this repository`);
  return Number(row.id);
}

function toLabel(row: Record<string, unknown>): Label {
  return {
    id: String(row.uuid), key: String(row.key), value: String(row.value),
    source_type: row.source_type as LabelSource, media_type: row.media_type as LabelMediaType,
  };
}

/** The manifest's labels, oldest first; with `prefix`, only those whose key starts with it. */
export async function listLabels(db: Queryable, manifestId: number, prefix?: string): Promise<Label[]> {
  const rows: Record<string, unknown>[] = await db('manifest_labels').where('manifest_id', manifestId).orderBy(['created_at', 'id']);
  // Filtered here rather than with LIKE, whose wildcards and case rules differ between databases.
  return rows.map(toLabel).filter((l) => prefix === undefined || l.key.startsWith(prefix));
}

export async function getLabel(db: Queryable, manifestId: number, id: string): Promise<Label> {
  const row = await db('manifest_labels').where({ manifest_id: manifestId, uuid: id }).first();
  if (!row) throw notFound(`label ${id} not found on this manifest`);
  return toLabel(row);
}

export interface NewLabel {
  key: string;
  value: string;
  media_type: LabelMediaType;
}

/** Checks a label the API is asked to add, with Quay's rules and messages. */
export function validateNewLabel(label: NewLabel): void {
  if (RESERVED_LABEL_PREFIXES.some((p) => label.key.startsWith(p))) throw invalid('key', 'Label has a reserved prefix');
  if (label.key.length > 255 || !LABEL_KEY_RE.test(label.key)) {
    throw invalid('key', `Label is of an invalid format or missing please use ${LABEL_KEY_RE.source} format for labels`);
  }
  if (label.media_type === 'application/json') {
    try {
      JSON.parse(label.value);
    } catch {
      throw invalid('value', 'the value is not valid JSON, which media type application/json requires');
    }
  }
}

/** Adds a mutable (`api`) label to a manifest. */
export async function addLabel(db: Queryable, manifestId: number, label: NewLabel): Promise<Label> {
  validateNewLabel(label);
  const row = { uuid: randomUUID(), manifest_id: manifestId, ...label, source_type: 'api', created_at: Date.now() };
  await db('manifest_labels').insert(row);
  return toLabel(row);
}

/** Deletes a mutable label; a label read from the image config cannot be (400, as Quay answers). */
export async function deleteLabel(db: Queryable, manifestId: number, id: string): Promise<Label> {
  const label = await getLabel(db, manifestId, id);
  if (label.source_type !== 'api') throw invalid('label', 'Cannot delete immutable label: it comes from the image itself');
  await db('manifest_labels').where({ manifest_id: manifestId, uuid: id }).delete();
  return label;
}
