// Quay's manifest label API under /api/v1/repository/{ns}/{repo}/manifest/{digest}/labels:
// list (read), add and delete (write; labels read from the image config are read-only).
import { z } from 'zod';
import { audit } from '../../src/api/context.js';
import type { RepoEndpoint, RepoRequest } from '../../src/api/repo-router.js';
import { documented } from '../../src/api/route-docs.js';
import { parseInput } from '../../src/api/validate.js';
import { invalid } from '../../src/errors.js';
import type { RepoRole } from '../../src/auth/names.js';
import type { Repository } from '../../src/repos/repositories.js';
import { parseDigest } from '../digest.js';
import { addLabel, deleteLabel, getLabel, listLabels, requireManifestId } from '../metadata/labels.js';
import { requireNormalState } from '../metadata/tag-history.js';

const ListQuery = z.object({ filter: z.string().max(255).optional() });
const AddBody = z.strictObject({
  key: z.string().min(1, 'the key is required'),
  value: z.string().max(65_536),
  // Quay allows null for the default, text/plain.
  media_type: z.enum(['text/plain', 'application/json'], { message: 'Media type is invalid please use a valid media type: text/plain, application/json' })
    .nullable()
    .optional()
    .transform((t) => t ?? 'text/plain'),
});

interface Target {
  repo: Repository;
  digest: string;
  manifestId: number;
}

/** The repository (with `role`) and the manifest named in the path. */
async function target(r: RepoRequest, role: RepoRole): Promise<Target> {
  const repo = await r.repo(role);
  if (role !== 'read') requireNormalState(repo);
  const digest = r.params.digest!;
  if (!parseDigest(digest)) throw invalid('manifestref', `invalid digest ${JSON.stringify(digest)}: expected sha256:<64 hex> or sha512:<128 hex>`);
  return { repo, digest, manifestId: await requireManifestId(r.deps.db, repo.id, digest) };
}

function entryFor(t: Target, kind: string, metadata: Record<string, unknown>) {
  return {
    kind, namespace: { id: t.repo.namespace_id, name: t.repo.namespace }, repository: t.repo,
    metadata: { namespace: t.repo.namespace, repo: t.repo.name, manifest_digest: t.digest, ...metadata },
  };
}

export const labelEndpoints: RepoEndpoint[] = [
  {
    method: 'GET',
    path: 'manifest/:digest/labels',
    doc: documented("List a manifest's labels", ['repo:read']).schema,
    async handler(r) {
      const t = await target(r, 'read');
      const { filter } = parseInput(ListQuery, r.req.query);
      return { labels: await listLabels(r.deps.db, t.manifestId, filter) };
    },
  },
  {
    method: 'POST',
    path: 'manifest/:digest/labels',
    doc: documented('Add a label to a manifest', ['repo:write']).schema,
    async handler(r) {
      const t = await target(r, 'write');
      const input = parseInput(AddBody, r.req.body);
      const label = await r.deps.db.transaction(async (tx) => {
        const added = await addLabel(tx, t.manifestId, input);
        await audit(tx, r.req, entryFor(t, 'manifest_label_add', { id: added.id, key: added.key, value: added.value, media_type: added.media_type }));
        return added;
      });
      r.reply.code(201).header('location', `/api/v1/repository/${t.repo.namespace}/${t.repo.name}/manifest/${t.digest}/labels/${label.id}`);
      return { label };
    },
  },
  {
    method: 'GET',
    path: 'manifest/:digest/labels/:labelid',
    doc: documented('View one label of a manifest', ['repo:read']).schema,
    async handler(r) {
      const t = await target(r, 'read');
      return getLabel(r.deps.db, t.manifestId, r.params.labelid!);
    },
  },
  {
    method: 'DELETE',
    path: 'manifest/:digest/labels/:labelid',
    doc: documented('Delete a label added through the API', ['repo:write']).schema,
    async handler(r) {
      const t = await target(r, 'write');
      await r.deps.db.transaction(async (tx) => {
        const deleted = await deleteLabel(tx, t.manifestId, r.params.labelid!);
        await audit(tx, r.req, entryFor(t, 'manifest_label_delete', { id: deleted.id, key: deleted.key, value: deleted.value }));
      });
      return r.reply.code(204).send();
    },
  },
];
