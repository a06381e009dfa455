// Quay's tag API under /api/v1/repository/{ns}/{repo}/tag/: the tag history, creating, moving
// and deleting tags, expirations, restoring from the time machine, and permanent deletion.
import { z } from 'zod';
import { TAG_RE } from '../../src/auth/names.js';
import { audit } from '../../src/api/context.js';
import { formatDate } from '../../src/api/logs-view.js';
import type { RepoEndpoint, RepoRequest } from '../../src/api/repo-router.js';
import { documented } from '../../src/api/route-docs.js';
import { parseInput } from '../../src/api/validate.js';
import { durationSeconds } from '../../src/config/durations.js';
import { invalid, notFound } from '../../src/errors.js';
import type { Repository } from '../../src/repos/repositories.js';
import { parseDigest } from '../digest.js';
import {
  deleteTag, deleteTagLogEntries, expireTagHistory, listTagHistory, requireNormalState, restoreTag, retargetTag, setTagExpiration, type TagRecord,
} from '../metadata/tag-history.js';

const MAX_PAGE_SIZE = 100;

const tagName = z.string().regex(TAG_RE, 'must be a tag name: letters, digits, _ . - (at most 128, not starting with . or -)');
const digest = z.string().refine((d) => parseDigest(d) !== null, 'must be a digest: sha256:<64 hex> or sha512:<128 hex>');
const flag = z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1');
const count = (name: string) => z.string().regex(/^[0-9]{1,9}$/, `${name} must be a positive whole number`).transform(Number);

const ListQuery = z.object({
  specificTag: tagName.optional(),
  filter_tag_name: z
    .string()
    .regex(/^(like|eq):.+$/, "use <operation>:<tag_name> where <operation> is 'like' or 'eq'")
    .transform((f) => ({ op: f.slice(0, f.indexOf(':')) as 'like' | 'eq', value: f.slice(f.indexOf(':') + 1) }))
    .optional(),
  onlyActiveTags: flag.default(false),
  // Out-of-range numbers are clamped as Quay does: limit into 1–100, page to at least 1.
  page: count('page').default(1).transform((p) => Math.max(1, p)),
  limit: count('limit').default(50).transform((l) => Math.min(MAX_PAGE_SIZE, Math.max(1, l))),
});

// Epoch seconds; beyond year 9999 is no date at all.
const MAX_EPOCH_S = 253_402_300_799;
const ChangeBody = z
  .strictObject({
    manifest_digest: digest.optional(),
    expiration: z.number().positive().max(MAX_EPOCH_S).nullable().optional(),
  })
  .refine((b) => b.manifest_digest !== undefined || b.expiration !== undefined, { message: 'give manifest_digest, expiration or both', path: ['manifest_digest'] });
const RestoreBody = z.strictObject({ manifest_digest: digest });
const ExpireBody = z.strictObject({
  manifest_digest: digest,
  is_alive: z.boolean().default(false),
  // Accepted for Quay's clients and ignored: an index's children hold no tags of their own to expire.
  include_submanifests: z.boolean().optional(),
});

function tagView(t: TagRecord) {
  return {
    name: t.name,
    reversion: t.reversion,
    start_ts: Math.floor(t.lifetimeStart / 1000),
    ...(t.lifetimeEnd !== null ? { end_ts: Math.floor(t.lifetimeEnd / 1000) } : {}),
    manifest_digest: t.manifestDigest,
    is_manifest_list: t.isManifestList,
    size: t.size,
    last_modified: formatDate(t.lifetimeStart),
    ...(t.lifetimeEnd !== null ? { expiration: formatDate(t.lifetimeEnd) } : {}),
  };
}

function tagParam(r: RepoRequest): string {
  const tag = r.params.tag!;
  if (!TAG_RE.test(tag)) throw invalid('tag', `invalid tag name ${JSON.stringify(tag)}`);
  return tag;
}

/** The repository, once the caller may write to it and it accepts changes. */
async function writable(r: RepoRequest): Promise<Repository> {
  const repo = await r.repo('write');
  requireNormalState(repo);
  return repo;
}

function entryFor(repo: Repository, kind: string, metadata: Record<string, unknown>) {
  return {
    kind, namespace: { id: repo.namespace_id, name: repo.namespace }, repository: repo,
    metadata: { namespace: repo.namespace, repo: repo.name, ...metadata },
  };
}

function durationMs(text: string): number {
  // The config schema already checked the format.
  return durationSeconds(text)! * 1000;
}

async function changeTag(r: RepoRequest): Promise<unknown> {
  const repo = await writable(r);
  const tag = tagParam(r);
  const body = parseInput(ChangeBody, r.req.body);
  const bounds = { minimumMs: durationMs(r.deps.config.LABELED_EXPIRATION_MINIMUM), maximumMs: durationMs(r.deps.config.LABELED_EXPIRATION_MAXIMUM) };
  const username = r.req.identity.kind === 'anonymous' ? null : r.req.identity.account.name;
  await r.deps.db.transaction(async (tx) => {
    // Moving first lets one request create a tag and give it an expiration.
    if (body.manifest_digest !== undefined) {
      const { previous } = await retargetTag(tx, repo.id, tag, body.manifest_digest);
      await audit(tx, r.req, entryFor(repo, previous === null ? 'create_tag' : 'move_tag', {
        username, tag, manifest_digest: body.manifest_digest, original_manifest_digest: previous,
      }));
    }
    if (body.expiration !== undefined) {
      const at = body.expiration === null ? null : Math.round(body.expiration * 1000);
      const { previousEnd } = await setTagExpiration(tx, repo.id, tag, at, bounds);
      await audit(tx, r.req, entryFor(repo, 'change_tag_expiration', {
        username, tag, expiration_date: body.expiration, old_expiration_date: previousEnd === null ? null : Math.floor(previousEnd / 1000),
      }));
    }
  });
  return r.reply.code(201).type('application/json').send(JSON.stringify('Updated'));
}

export const tagEndpoints: RepoEndpoint[] = [
  {
    method: 'GET',
    path: 'tag/',
    doc: documented("List a repository's tags with their history", ['repo:read']).schema,
    async handler(r) {
      const repo = await r.repo('read');
      const q = parseInput(ListQuery, r.req.query);
      const { tags, hasAdditional } = await listTagHistory(r.deps.db, repo.id, {
        specificTag: q.specificTag, nameFilter: q.filter_tag_name, onlyActive: q.onlyActiveTags, page: q.page, limit: q.limit,
      }, Date.now());
      return { tags: tags.map(tagView), page: q.page, has_additional: hasAdditional };
    },
  },
  {
    method: 'PUT',
    path: 'tag/:tag',
    doc: documented('Create or move a tag, or change its expiration', ['repo:write']).schema,
    handler: changeTag,
  },
  {
    method: 'DELETE',
    path: 'tag/:tag',
    doc: documented('Delete a tag (it stays in the time machine)', ['repo:write']).schema,
    async handler(r) {
      const repo = await writable(r);
      const tag = tagParam(r);
      await r.deps.db.transaction(async (tx) => {
        for (const entry of deleteTagLogEntries(repo, tag, await deleteTag(tx, repo.id, tag))) await audit(tx, r.req, entry);
      });
      return r.reply.code(204).send();
    },
  },
  {
    method: 'POST',
    path: 'tag/:tag/restore',
    doc: documented('Restore a tag to a manifest it pointed at within the time machine window', ['repo:write']).schema,
    async handler(r) {
      const repo = await writable(r);
      const tag = tagParam(r);
      const { manifest_digest } = parseInput(RestoreBody, r.req.body);
      await r.deps.db.transaction(async (tx) => {
        const { previous } = await restoreTag(tx, repo, tag, manifest_digest);
        await audit(tx, r.req, entryFor(repo, 'revert_tag', { tag, manifest_digest, original_manifest_digest: previous }));
      });
      return {};
    },
  },
  {
    method: 'POST',
    path: 'tag/:tag/expire',
    doc: documented("Permanently delete a tag's history on a manifest (PERMANENTLY_DELETE_TAGS)", ['repo:write']).schema,
    async handler(r) {
      // Quay does not serve this endpoint unless the feature is on.
      if (!r.deps.config.PERMANENTLY_DELETE_TAGS) throw notFound('permanent tag deletion is switched off (PERMANENTLY_DELETE_TAGS)');
      const repo = await writable(r);
      const tag = tagParam(r);
      const body = parseInput(ExpireBody, r.req.body);
      await r.deps.db.transaction(async (tx) => {
        await expireTagHistory(tx, repo, tag, body.manifest_digest, body.is_alive);
        await audit(tx, r.req, entryFor(repo, 'permanently_delete_tag', { tag, manifest_digest: body.manifest_digest }));
      });
      return {};
    },
  },
];
