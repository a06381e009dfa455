// The build REST API under /api/v1/repository/{ns}/{repo}/build/…: start (upload or archive_url),
// history, one build, its logs, cancel. Handlers parse, authorize, call the queue and map the result.
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { MultipartFile } from '@fastify/multipart';
import { invalid, notFound, conflict, DomainError } from '../../src/errors.js';
import { parseInput } from '../../src/api/validate.js';
import { audit, authorize } from '../../src/api/context.js';
import { documented } from '../../src/api/route-docs.js';
import { lendableRobot } from '../../src/api/robots.js';
import { repositoryRole } from '../../src/auth/policy.js';
import type { Scope } from '../../src/auth/scopes.js';
import type { RepoEndpoint, RepoRequest } from '../../src/api/repo-router.js';
import type { Repository } from '../../src/repos/repositories.js';
import { buildQuery, buildFromRow, findBuild, type Build } from '../build-model.js';
import { buildView } from '../build-view.js';
import { fetchArchive, MAX_CONTEXT_BYTES, prepareContext } from '../context.js';
import type { BuildQueue } from '../queue.js';
import type { LogStore } from '../log-store.js';

export interface BuildApiDeps {
  queue: BuildQueue;
  logs: LogStore;
  dataDir: string;
  archiveUrlTimeoutMs?: number;
}

const TAG = /^[\w][\w.-]{0,127}$/;
const startSchema = z.strictObject({
  archive_url: z.string().min(1).optional(),
  docker_tags: z.array(z.string().regex(TAG, 'each tag is letters, digits, _ . - (at most 128, not starting with . or -)')).min(1)
    .refine((t) => new Set(t).size === t.length, 'tags must be unique').default(['latest']),
  pull_robot: z.string().min(1).nullish(),
  subdirectory: z.string().optional(),
  dockerfile_path: z.string().optional(),
  context: z.string().optional(),
  build_args: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a build arg name is letters, digits and _'), z.string()).default({}),
  // Quay's upload flow (file_id from /filedrop) is not served; an upload goes in the same request.
  file_id: z.never({ error: 'file_id uploads are not supported: send the file in a multipart request' }).optional(),
});

/** Multipart: the `file` part is written to `dest`; other parts are fields (docker_tags repeated or comma-separated; build_args JSON). */
async function readMultipart(req: FastifyRequest, dest: string): Promise<{ fields: Record<string, unknown>; file: boolean }> {
  const fields: Record<string, unknown> = {};
  let file = false;
  for await (const part of req.parts({ limits: { fileSize: MAX_CONTEXT_BYTES, files: 1 } })) {
    if (part.type === 'file') {
      await pipeline((part as MultipartFile).file, createWriteStream(dest));
      if ((part as MultipartFile).file.truncated) throw invalid('file', `the upload is larger than ${MAX_CONTEXT_BYTES} bytes`);
      file = true;
      continue;
    }
    const value = String(part.value);
    if (part.fieldname === 'docker_tags') {
      const tags = value.split(',').map((s) => s.trim()).filter(Boolean);
      fields.docker_tags = [...((fields.docker_tags as string[] | undefined) ?? []), ...tags];
    } else if (part.fieldname === 'build_args') {
      try {
        fields.build_args = JSON.parse(value);
      } catch {
        throw invalid('build_args', 'build_args must be a JSON object of strings');
      }
    } else fields[part.fieldname] = value;
  }
  return { fields, file };
}

async function start(deps: BuildApiDeps, r: RepoRequest): Promise<unknown> {
  const repo = await r.repo('write');
  if (repo.state !== 'NORMAL') throw conflict(`the repository is ${repo.state.toLowerCase()}: builds cannot push to it`);
  if (repo.kind !== 'image') throw invalid('repository', 'only image repositories can be built');
  const uploads = path.join(deps.dataDir, 'build-contexts');
  await mkdir(uploads, { recursive: true });
  const upload = path.join(uploads, `upload-${randomUUID()}`);
  try {
    let raw: Record<string, unknown>;
    let haveFile = false;
    if (r.req.isMultipart()) ({ fields: raw, file: haveFile } = await readMultipart(r.req, upload));
    else raw = (r.req.body ?? {}) as Record<string, unknown>;
    const input = parseInput(startSchema, raw);
    if (haveFile && input.archive_url) throw invalid('archive_url', 'send a file or archive_url, not both');
    if (!haveFile && !input.archive_url) throw invalid('file', 'send the build context as a file (multipart) or give archive_url');
    if (input.pull_robot) await lendableRobot(r.deps, r.req, input.pull_robot);
    if (input.archive_url) await fetchArchive(input.archive_url, upload, { timeoutMs: deps.archiveUrlTimeoutMs ?? 30_000 });
    const ctx = await prepareContext(deps.dataDir, upload, input);
    const build = await deps.queue.enqueue({
      repositoryId: repo.id, tags: input.docker_tags, displayName: input.archive_url ? path.posix.basename(new URL(input.archive_url).pathname) || 'archive' : 'upload',
      source: { kind: 'archive', path: ctx.tarPath, ...(input.archive_url ? { archiveUrl: input.archive_url } : {}) },
      manualUser: r.req.identity.kind === 'anonymous' ? null : r.req.identity.account.name, pullRobot: input.pull_robot ?? null,
      dockerfilePath: ctx.dockerfilePath, context: ctx.context, buildArgs: input.build_args,
    }, (tx, b) => audit(tx, r.req, {
      kind: 'build_dockerfile', namespace: { id: repo.namespace_id, name: r.namespace }, repository: { id: repo.id, name: r.name },
      metadata: { build_id: b.uuid, docker_tags: b.tags, repo: r.name, namespace: r.namespace, is_manual: true },
    }));
    r.reply.code(201).header('Location', `/api/v1/repository/${r.namespace}/${r.name}/build/${build.uuid}`);
    return buildView(build, { isWriter: true });
  } finally {
    await rm(upload, { force: true });
  }
}

async function isWriter(r: RepoRequest, repo: Repository): Promise<boolean> {
  const role = await repositoryRole(r.deps.db, r.req.identity, repo, { anonymousAccess: r.deps.config.FEATURE_ANONYMOUS_ACCESS });
  return role === 'write' || role === 'admin';
}

async function buildOf(r: RepoRequest, repo: Repository): Promise<Build> {
  const b = /^[0-9a-f-]{36}$/.test(r.params.uuid ?? '') ? await findBuild(r.deps.db, r.params.uuid!) : null;
  if (!b || b.repositoryId !== repo.id) throw notFound(`no build ${r.params.uuid} in ${r.namespace}/${r.name}`);
  return b;
}

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(5),
  /** Unix seconds: only builds started after. */
  since: z.coerce.number().int().min(0).optional(),
});
const logsQuery = z.object({ start: z.coerce.number().int().min(0).default(0) });

export function buildEndpoints(deps: BuildApiDeps): RepoEndpoint[] {
  // As Quay's endpoints/api/build.py: reading needs read, starting write, cancelling admin.
  const docs = (summary: string, scope: Scope) => documented(summary, [scope]).schema;
  return [
    { method: 'POST', path: 'build/', doc: docs('Start a Dockerfile build from an upload or archive_url', 'repo:write'), handler: (r) => start(deps, r) },
    {
      method: 'GET', path: 'build/', doc: docs('List the repository\'s builds, newest first', 'repo:read'),
      async handler(r) {
        const repo = await r.repo('read');
        const q = parseInput(listQuery, r.req.query);
        let query = buildQuery(r.deps.db).where('b.repository_id', repo.id).orderBy('b.started_at', 'desc').orderBy('b.id', 'desc').limit(q.limit);
        if (q.since !== undefined) query = query.where('b.started_at', '>', q.since * 1000);
        const writer = await isWriter(r, repo);
        return { builds: (await query).map((row: Record<string, unknown>) => buildView(buildFromRow(row), { isWriter: writer })) };
      },
    },
    {
      method: 'GET', path: 'build/:uuid', doc: docs('One build', 'repo:read'),
      async handler(r) {
        const repo = await r.repo('read');
        return buildView(await buildOf(r, repo), { isWriter: await isWriter(r, repo) });
      },
    },
    {
      method: 'GET', path: 'build/:uuid/status', doc: docs('One build (Quay\'s status path)', 'repo:read'),
      async handler(r) {
        const repo = await r.repo('read');
        return buildView(await buildOf(r, repo), { isWriter: await isWriter(r, repo) });
      },
    },
    {
      method: 'GET', path: 'build/:uuid/logs', doc: docs('A build\'s log lines from `start`', 'repo:read'),
      async handler(r) {
        const repo = await r.repo('read');
        const b = await buildOf(r, repo);
        const { start: from } = parseInput(logsQuery, r.req.query);
        const lines = await deps.logs.read(b.uuid, from);
        const total = await deps.logs.count(b.uuid);
        return { start: from, total, logs: lines.map((l) => ({ seq: l.seq, type: l.type, message: l.message, data: l.data ?? {}, datetime: new Date(l.datetime).toISOString() })) };
      },
    },
    {
      method: 'GET', path: 'build/:uuid/logs/text', doc: docs('A build\'s whole log as plain text', 'repo:read'),
      async handler(r) {
        const repo = await r.repo('read');
        const b = await buildOf(r, repo);
        const lines = await deps.logs.read(b.uuid, 0);
        r.reply.type('text/plain; charset=utf-8').header('Content-Disposition', `attachment; filename="build-${b.uuid}.log"`);
        return lines.map((l) => `${new Date(l.datetime).toISOString()} ${l.type === 'plain' ? '' : `[${l.type}] `}${l.message}`).join('\n') + '\n';
      },
    },
    {
      method: 'DELETE', path: 'build/:uuid', doc: docs('Cancel a build; a running one is stopped in its executor', 'repo:admin'),
      async handler(r) {
        const repo = await r.repo('admin');
        const b = await buildOf(r, repo);
        try {
          await deps.queue.cancel(b.uuid);
        } catch (err) {
          // Quay answers 400 for a build that can no longer be cancelled.
          if (err instanceof DomainError && err.kind === 'conflict') throw invalid('uuid', err.message);
          throw err;
        }
        r.reply.code(201);
        return 'Okay';
      },
    },
  ];
}
