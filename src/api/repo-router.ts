// Everything under /api/v1/repository/{namespace}/{name…}. Repository names hold slashes and may
// be words like `build`, `tag` or `permissions`, so Fastify cannot route these by pattern (Quay
// cannot either, which is why those names break there). One wildcard route hands the path to
// resolveRepoPath, which strips a known sub-resource off the END and takes the rest as the name.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { missingRepository } from '../auth/policy.js';
import { splitRepositoryPath, type RepoRole } from '../auth/names.js';
import { findRepository, type Repository } from '../repos/repositories.js';
import { invalid, notFound } from '../errors.js';
import { authorize, type ApiDeps, type ApiModule } from './context.js';
import { documented, type SecurityRequirement } from './route-docs.js';
import { repositoryCollection, repositoryEndpoints } from './repositories.js';
import { repositorySettingEndpoints } from './repository-settings.js';
import { repoPermissionEndpoints } from './repo-permissions.js';
import { repositoryLogEndpoints } from './logs.js';

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** One request to a repository (sub-)resource, with the name already split off the path. */
export interface RepoRequest {
  deps: ApiDeps;
  req: FastifyRequest;
  reply: FastifyReply;
  namespace: string;
  name: string;
  /** The `:param`s of the sub-path, decoded. */
  params: Record<string, string>;
  /** The repository, once the policy grants `role` on it; a missing one is refused like a hidden one. */
  repo(role: RepoRole): Promise<Repository>;
}

export interface RepoEndpoint {
  method: Method;
  /** After the repository name: '' for the repository itself, `permissions/user/` (a trailing slash is optional), `permissions/user/:username`. */
  path: string;
  handler(r: RepoRequest): Promise<unknown>;
  /** What the discovery document says of it (see route-docs.ts). */
  doc?: { summary: string; security?: SecurityRequirement[] };
}

// Every repository endpoint. A module serving more of them (tags, builds, logs…) adds its list here.
export const REPOSITORY_ENDPOINTS: RepoEndpoint[] = [...repositoryEndpoints, ...repositorySettingEndpoints, ...repoPermissionEndpoints, ...repositoryLogEndpoints];

interface CompiledPath {
  path: string;
  regex: RegExp;
  paramNames: string[];
  segments: number;
}

function compile(path: string): CompiledPath {
  const segments = path.split('/').filter(Boolean);
  const paramNames: string[] = [];
  const body = segments.map((s) => {
    if (!s.startsWith(':')) return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    paramNames.push(s.slice(1));
    return '([^/]+)';
  });
  // The name takes as many segments as it can only when nothing follows it.
  const regex = body.length === 0 ? /^(.+?)\/?$/ : new RegExp(`^(.+)/${body.join('/')}/?$`);
  return { path, regex, paramNames, segments: segments.length };
}

// Longest sub-paths first, so `x/permissions/user/bob` never reads as repository `x/permissions/user`
// with a `bob` sub-path, and the bare repository comes last.
let PATHS: CompiledPath[] = compileAll();

function compileAll(): CompiledPath[] {
  return [...new Set(REPOSITORY_ENDPOINTS.map((e) => e.path))].map(compile).sort((a, b) => b.segments - a.segments);
}

/**
 * Adds a subsystem's endpoints (builds, triggers…) at start-up: subsystems import the core, never
 * the reverse, so the composition root hands their lists in here. Adding one twice is a no-op.
 */
export function registerRepositoryEndpoints(endpoints: readonly RepoEndpoint[]): void {
  for (const e of endpoints) if (!REPOSITORY_ENDPOINTS.includes(e)) REPOSITORY_ENDPOINTS.push(e);
  PATHS = compileAll();
}

export interface ResolvedRepoPath {
  namespace: string;
  name: string;
  path: string;
  params: Record<string, string>;
}

/** Splits `ns/name[/sub-path]` (already decoded) into the repository and the sub-resource; null when no endpoint fits. */
export function resolveRepoPath(rest: string): ResolvedRepoPath | null {
  for (const p of PATHS) {
    const m = p.regex.exec(rest);
    if (!m) continue;
    const parts = splitRepositoryPath(m[1]!);
    if (!parts) continue;
    const params = Object.fromEntries(p.paramNames.map((n, i) => [n, m[i + 2]!]));
    return { namespace: parts.namespace, name: parts.repository, path: p.path, params };
  }
  return null;
}

/** Whether the API can address `ns/name` as a repository, rather than reading its tail as a sub-resource. */
export function isAddressable(namespace: string, name: string): boolean {
  const r = resolveRepoPath(`${namespace}/${name}`);
  return r !== null && r.path === '' && r.name === name;
}

function decodePath(raw: string): string {
  try {
    return raw.split('/').map(decodeURIComponent).join('/');
  } catch {
    throw invalid('repository', 'the repository path is not valid percent-encoding');
  }
}

async function dispatch(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const urlPath = req.url.split('?', 1)[0]!;
  const rest = decodePath(urlPath.slice(urlPath.indexOf('/repository/') + '/repository/'.length));
  if (rest === '') {
    if (req.method === 'GET') return repositoryCollection.list(deps, req);
    if (req.method === 'POST') return repositoryCollection.create(deps, req, reply, isAddressable);
    return noEndpoint(req);
  }
  const resolved = resolveRepoPath(rest);
  const endpoint = resolved && REPOSITORY_ENDPOINTS.find((e) => e.path === resolved.path && e.method === req.method);
  if (!resolved || !endpoint) return noEndpoint(req);
  const full = `${resolved.namespace}/${resolved.name}`;
  return endpoint.handler({
    deps, req, reply, namespace: resolved.namespace, name: resolved.name, params: resolved.params,
    async repo(role) {
      const repo = await findRepository(deps.db, resolved.namespace, resolved.name);
      if (!repo) throw missingRepository(req.identity, full);
      await authorize(deps, req, { on: 'repo', repo, role });
      return repo;
    },
  });
}

function noEndpoint(req: FastifyRequest): never {
  throw notFound(`no API endpoint ${req.method} ${req.url.split('?')[0]}`);
}

export const repositoryRoutes: ApiModule = (app, deps) => {
  app.get('/repository', documented('List the repositories the caller may see', ['repo:read']), (req) => repositoryCollection.list(deps, req));
  app.post('/repository', documented('Create a repository', ['repo:create']), (req, reply) => repositoryCollection.create(deps, req, reply, isAddressable));
  app.route({ method: ['GET', 'PUT', 'POST', 'DELETE'], url: '/repository/*', handler: (req, reply) => dispatch(deps, req, reply) });
};
