// Creating, listing and viewing repositories, in Quay's shapes (endpoints/api/repository.py).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findAccount, getAccountById } from '../auth/accounts.js';
import { isRepositoryName } from '../auth/names.js';
import { readableRepositoryIds, repositoryRole } from '../auth/policy.js';
import { createRepository, REPO_KINDS, type Repository } from '../repos/repositories.js';
import { currentTags, listRepositories } from '../repos/listing.js';
import { repositoryQuotaReports } from '../repos/namespace-size.js';
import { invalid, notFound } from '../errors.js';
import { audit, authorize, type ApiDeps } from './context.js';
import type { RepoEndpoint } from './repo-router.js';
import { documented } from './route-docs.js';
import { callerAccount } from './users.js';
import { parseInput } from './validate.js';

const CreateBody = z.object({
  namespace: z.string().min(1).optional(),
  repository: z.string().min(1),
  description: z.string().max(65_536).nullable().optional(),
  visibility: z.enum(['public', 'private']),
  repo_kind: z.enum(REPO_KINDS).nullable().optional(),
});

// Query strings carry booleans as words; Quay's clients send `true`/`false`.
const flag = z
  .enum(['true', 'false', 'True', 'False', '1', '0'])
  .transform((v) => v === 'true' || v === 'True' || v === '1')
  .optional();

const ListQuery = z.object({
  namespace: z.string().min(1).optional(),
  public: flag,
  starred: flag,
  last_modified: flag,
  popularity: flag,
  repo_kind: z.enum(REPO_KINDS).default('image'),
  next_page: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(100),
});

/** Quay's date format (RFC 2822 with -0000), which its clients parse. */
export function quayDate(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, '-0000');
}

/** The short view of a repository used in lists. */
export function repositorySummary(repo: Repository) {
  return {
    namespace: repo.namespace,
    name: repo.name,
    description: repo.description || null,
    is_public: repo.visibility === 'public',
    kind: repo.kind,
    state: repo.state,
  };
}

async function create(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply, addressable: (ns: string, name: string) => boolean) {
  const body = parseInput(CreateBody, req.body);
  const namespaceName = body.namespace ?? callerAccount(req).name;
  const namespace = await findAccount(deps.db, namespaceName);
  if (!namespace || namespace.kind === 'robot') throw notFound(`namespace ${namespaceName} does not exist`, 'namespace');
  await authorize(deps, req, { on: 'create-repo', namespace });
  if (!isRepositoryName(body.repository)) {
    throw invalid('repository', `invalid repository name ${JSON.stringify(body.repository)}: use lowercase letters, digits and . _ - between them, / between components`);
  }
  if (!addressable(namespace.name, body.repository)) {
    throw invalid('repository', `repository name ${JSON.stringify(body.repository)} ends like an API sub-resource path, so the API could not address it`);
  }
  const creator = callerAccount(req);
  const repo = await deps.db.transaction(async (tx) => {
    const created = await createRepository(tx, {
      namespace: namespace.name, name: body.repository, visibility: body.visibility,
      description: body.description ?? '', kind: body.repo_kind ?? 'image', creator,
    });
    await audit(tx, req, {
      kind: 'create_repo', namespace, repository: created,
      metadata: { repo: created.name, namespace: namespace.name, visibility: created.visibility },
    });
    return created;
  });
  reply.code(201);
  return { namespace: repo.namespace, name: repo.name, kind: repo.kind };
}

async function list(deps: ApiDeps, req: FastifyRequest) {
  const q = parseInput(ListQuery, req.query);
  const signedIn = req.identity.kind !== 'anonymous';
  if (!q.namespace && !q.starred && !q.public) throw invalid('namespace', 'namespace, starred or public is required');
  if (q.starred && !signedIn) throw invalid('starred', 'sign in to list starred repositories');
  // Nothing can be starred yet, so a starred list is empty (as Quay's is for a user who starred none).
  if (q.starred) return { repositories: [] };
  const visible = readableRepositoryIds(deps.db, req.identity, {
    anonymousAccess: deps.config.FEATURE_ANONYMOUS_ACCESS, includePublic: q.public ?? false,
  });
  const page = await listRepositories(deps.db, {
    visible, namespace: q.namespace, kind: q.repo_kind, limit: q.limit, nextPage: q.next_page,
    withLastModified: q.last_modified ?? false, withPopularity: q.popularity ?? false,
  });
  // FEATURE_QUOTA_MANAGEMENT: each repository's size against its namespace's quota, as Quay lists it.
  const quotas = deps.config.FEATURE_QUOTA_MANAGEMENT
    ? await repositoryQuotaReports(deps.db, page.items.map((i) => i.repo), deps.config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES)
    : null;
  return {
    repositories: page.items.map((item) => ({
      ...repositorySummary(item.repo),
      ...(quotas ? { quota_report: quotas.get(item.repo.id) } : {}),
      ...(item.lastModified !== undefined ? { last_modified: item.lastModified } : {}),
      ...(item.popularity !== undefined ? { popularity: item.popularity } : {}),
      ...(signedIn ? { is_starred: false } : {}),
    })),
    ...(page.nextPage ? { next_page: page.nextPage } : {}),
  };
}

/** `POST`/`GET /api/v1/repository`, reached through the repository router. */
export const repositoryCollection = { create, list };

export const repositoryEndpoints: RepoEndpoint[] = [
  {
    method: 'GET',
    path: '',
    doc: documented('View a repository and its current tags', ['repo:read']).schema,
    async handler({ deps, req, repo: load }) {
      const repo = await load('read');
      const q = parseInput(z.object({ includeTags: flag }), req.query);
      const namespace = (await getAccountById(deps.db, repo.namespace_id))!;
      const role = await repositoryRole(deps.db, req.identity, repo, { anonymousAccess: deps.config.FEATURE_ANONYMOUS_ACCESS });
      const tags = q.includeTags === false ? null : await currentTags(deps.db, repo.id);
      return {
        ...repositorySummary(repo),
        is_organization: namespace.kind === 'org',
        is_starred: false,
        // Badges are not served yet, so there is no badge token to hand out.
        status_token: '',
        trust_enabled: false,
        tag_expiration_s: namespace.tag_expiration_s,
        can_write: role === 'write' || role === 'admin',
        can_admin: role === 'admin',
        ...(tags
          ? { tags: Object.fromEntries(tags.map((t) => [t.name, { name: t.name, manifest_digest: t.manifestDigest, last_modified: quayDate(t.lastModified) }])) }
          : {}),
      };
    },
  },
];
