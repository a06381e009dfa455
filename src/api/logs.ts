// Usage logs: list, aggregate and export them per repository, organization, user, and for
// superusers the whole registry (Quay's endpoints/api/logs.py).
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireOrganization } from '../auth/accounts.js';
import { missingRepository, type ApiNeed } from '../auth/policy.js';
import { newExportId, openExport, startLogExport } from '../audit/log-export.js';
import { aggregateLogs, lookupLogs, type LogFilter } from '../audit/log-query.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { findRepository } from '../repos/repositories.js';
import { audit, authorize, type ApiDeps, type ApiModule } from './context.js';
import {
  aggregateView, decodeCursor, encodeCursor, formatDate, logView, MAX_AGGREGATE_DAYS, timeRange,
} from './logs-view.js';
import type { RepoEndpoint, RepoRequest } from './repo-router.js';
import { documented } from './route-docs.js';
import { callerAccount } from './users.js';
import { parseInput } from './validate.js';

const LogQuery = z.object({
  starttime: z.string().optional(),
  endtime: z.string().optional(),
  performer: z.string().optional(),
  next_page: z.string().optional(),
});

const ExportRequest = z.strictObject({
  callback_url: z.string().max(2048).optional(),
  callback_email: z.string().max(255).optional(),
});

/** Whose logs: the entries to read, and where an export's audit entry goes. */
interface LogScope {
  filter: Pick<LogFilter, 'namespaceId' | 'repositoryId'>;
  /** Entries span namespaces, so each names its own (the superuser's view). */
  includeNamespace: boolean;
  namespace?: { id: number; name: string };
  repository?: { id: number; name: string };
}

async function listLogs(deps: ApiDeps, req: FastifyRequest, scope: LogScope) {
  const q = parseInput(LogQuery, req.query);
  const range = timeRange(q);
  const page = await lookupLogs(deps.db, { ...scope.filter, ...range, performer: q.performer }, decodeCursor(q.next_page));
  return {
    start_time: formatDate(range.start),
    end_time: formatDate(range.end),
    logs: page.logs.map((r) => logView(r, scope.includeNamespace)),
    ...(page.next ? { next_page: encodeCursor(page.next) } : {}),
  };
}

async function aggregate(deps: ApiDeps, req: FastifyRequest, scope: LogScope) {
  const q = parseInput(LogQuery, req.query);
  const range = timeRange(q, Date.now(), MAX_AGGREGATE_DAYS);
  return aggregateView(await aggregateLogs(deps.db, { ...scope.filter, ...range, performer: q.performer }));
}

const exportDir = (deps: ApiDeps) => path.join(deps.config.DATA_DIR, 'log-exports');

/** What an export entry in the usage log says about the request (Quay's metadata). */
function exportMetadata(scope: LogScope, body: { callback_url?: string; callback_email?: string }) {
  return { url: body.callback_url || null, email: body.callback_email || null, ...(scope.repository ? { repo: scope.repository.name } : {}) };
}

/** The callback and the time range an export request asks for; throws what is wrong with it. */
function exportRequest(q: z.infer<typeof LogQuery>, body: z.infer<typeof ExportRequest>) {
  if (body.callback_email !== undefined) throw invalid('callback_email', 'this registry sends no mail: give a callback_url instead');
  const callback = body.callback_url;
  if (!callback) throw invalid('callback_url', 'callback_url is required');
  if (!/^https?:\/\/[^\s/]+/.test(callback)) throw invalid('callback_url', 'callback_url must start with http:// or https://');
  return { callback, range: timeRange(q) };
}

async function exportLogs(deps: ApiDeps, req: FastifyRequest, scope: LogScope) {
  const q = parseInput(LogQuery, req.query);
  const body = parseInput(ExportRequest, req.body);
  const where = { namespace: scope.namespace, repository: scope.repository };
  let asked: ReturnType<typeof exportRequest>;
  try {
    asked = exportRequest(q, body);
  } catch (err) {
    // Quay records a refused export request too, with what was wrong.
    if (err instanceof DomainError) {
      await audit(deps.db, req, { kind: 'export_logs_failure', ...where, metadata: { error: err.message, ...exportMetadata(scope, body) } });
    }
    throw err;
  }
  const { callback, range } = asked;
  const exportId = newExportId();
  // Quay records the export as it is queued, under this name ("queued for delivery"); written
  // before the job starts so that a failure entry always follows it.
  await audit(deps.db, req, { kind: 'export_logs_success', ...where, metadata: { export_id: exportId, ...exportMetadata(scope, body) } });
  const base = `${deps.config.PREFERRED_URL_SCHEME}://${deps.config.SERVER_HOSTNAME}/api/v1/exportedlogs/`;
  startLogExport(
    {
      db: deps.db, log: deps.log, dir: exportDir(deps),
      // The link carries its own expiry, sealed with the server's key: nothing to store or look up.
      urlFor: (id, expiresAt) => base + deps.keys.encrypt(JSON.stringify([id, expiresAt])),
    },
    exportId,
    {
      filter: { ...scope.filter, ...range, performer: q.performer },
      details: {
        start_time: formatDate(range.start), end_time: formatDate(range.end),
        namespace: scope.namespace?.name ?? null, repository: scope.repository?.name ?? null,
      },
      callbackUrl: callback,
      view: (r) => logView(r, true),
      // Quay's worker records nothing when an export fails; without this entry the log would
      // show only the success recorded at queueing, so the requester's failure is recorded too.
      recordFailure: (id, error) => audit(deps.db, req, {
        kind: 'export_logs_failure', ...where, metadata: { export_id: id, error, ...exportMetadata(scope, body) },
      }),
    },
  );
  return { export_id: exportId };
}

function serveExport(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply) {
  const { token } = req.params as { token: string };
  let id: unknown;
  let expiresAt: unknown;
  try {
    [id, expiresAt] = JSON.parse(deps.keys.decrypt(token)) as unknown[];
  } catch {
    throw notFound('no such log export');
  }
  if (typeof id !== 'string' || typeof expiresAt !== 'number' || expiresAt < Date.now()) throw notFound('this log export link has expired');
  const stream = openExport(exportDir(deps), id);
  if (!stream) throw notFound('no such log export');
  return reply.type('application/json').header('content-disposition', `attachment; filename="${id}.json"`).send(stream);
}

/** The repository's entries, for its admins and superusers. */
async function repoScope(r: RepoRequest): Promise<LogScope> {
  const repo = await findRepository(r.deps.db, r.namespace, r.name);
  if (!repo) throw missingRepository(r.req.identity, `${r.namespace}/${r.name}`);
  await authorize(r.deps, r.req, { on: 'any', needs: [{ on: 'repo', repo, role: 'admin' }, { on: 'superuser' }] });
  return {
    filter: { repositoryId: repo.id }, includeNamespace: false,
    namespace: { id: repo.namespace_id, name: repo.namespace }, repository: { id: repo.id, name: repo.name },
  };
}

/** Served through the repository router, which splits `ns/name…/logs` apart. */
export const repositoryLogEndpoints: RepoEndpoint[] = [
  {
    method: 'GET', path: 'logs', doc: documented('List the usage logs of a repository', ['repo:admin']).schema,
    handler: async (r) => listLogs(r.deps, r.req, await repoScope(r)),
  },
  {
    method: 'GET', path: 'aggregatelogs', doc: documented('Count the usage logs of a repository per kind and day', ['repo:admin']).schema,
    handler: async (r) => aggregate(r.deps, r.req, await repoScope(r)),
  },
  {
    method: 'POST', path: 'exportlogs', doc: documented('Export the usage logs of a repository to a callback URL', ['repo:admin']).schema,
    handler: async (r) => exportLogs(r.deps, r.req, await repoScope(r)),
  },
];

export const logRoutes: ApiModule = (app, deps) => {
  const orgScope = async (req: FastifyRequest): Promise<LogScope> => {
    const org = await requireOrganization(deps.db, (req.params as { orgname: string }).orgname);
    const admin: ApiNeed = { on: 'namespace', namespace: org, level: 'admin' };
    await authorize(deps, req, { on: 'any', needs: [admin, { on: 'superuser' }] });
    return { filter: { namespaceId: org.id }, includeNamespace: false, namespace: { id: org.id, name: org.name } };
  };
  // As Quay: a user's logs are those of the user's namespace.
  const userScope = async (req: FastifyRequest): Promise<LogScope> => {
    await authorize(deps, req, { on: 'self', level: 'admin' });
    const me = callerAccount(req);
    return { filter: { namespaceId: me.id }, includeNamespace: false, namespace: { id: me.id, name: me.name } };
  };
  const superScope = async (req: FastifyRequest): Promise<LogScope> => {
    await authorize(deps, req, { on: 'superuser' });
    return { filter: {}, includeNamespace: true };
  };

  const scopes = [
    { base: '/organization/:orgname', of: 'an organization', scope: orgScope, need: 'org:admin' as const },
    { base: '/user', of: 'the signed-in user’s namespace', scope: userScope, need: 'user:admin' as const },
    { base: '/superuser', of: 'the whole registry', scope: superScope, need: 'super:user' as const },
  ];
  for (const s of scopes) {
    app.get(`${s.base}/logs`, documented(`List the usage logs of ${s.of}`, [s.need]), async (req) => listLogs(deps, req, await s.scope(req)));
    app.get(`${s.base}/aggregatelogs`, documented(`Count the usage logs of ${s.of} per kind and day`, [s.need]), async (req) =>
      aggregate(deps, req, await s.scope(req)));
    if (s.base !== '/superuser') {
      app.post(`${s.base}/exportlogs`, documented(`Export the usage logs of ${s.of} to a callback URL`, [s.need]), async (req) =>
        exportLogs(deps, req, await s.scope(req)));
    }
  }

  app.get('/exportedlogs/:token', documented('Download a finished log export (the link is the credential, valid for an hour)', null), (req, reply) =>
    serveExport(deps, req, reply));
};
