import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RegistryAction } from '../../src/auth/policy.js';
import { splitRepositoryPath } from '../../src/auth/names.js';
import { findAccount } from '../../src/auth/accounts.js';
import { createRepository, findRepository, type Repository } from '../../src/repos/repositories.js';
import { canCreateIn, registryWriteRefusal } from '../../src/auth/policy.js';
import { isAddressable, resolveRepoPath } from '../../src/api/repo-router.js';
import { RegistryError, regErr } from '../errors.js';
import { callerIdentity, identifyCaller } from './access.js';
import { bearerChallenge } from './challenge.js';
import type { Caller, RegistryDeps, RouteContext, RouteHandler } from './context.js';
import { sendRegistryError, toRegistryError } from './error-table.js';
import { tokenHandler } from './token.js';
import * as blobs from './blobs.js';
import * as uploads from './uploads.js';
import * as manifests from './manifests.js';
import * as tags from './tags.js';
import * as referrers from './referrers.js';
import { catalogHandler } from './catalog.js';
import { flushLogBuffer } from '../../src/audit/log-buffer.js';
import { recordLog } from '../../src/audit/usage-log.js';

type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

interface Route {
  pattern: RegExp;
  methods: Partial<Record<Method, { action: RegistryAction; handler: RouteHandler }>>;
}

// Repository names may hold slashes, so one wildcard route dispatches on these patterns;
// the first group is always the name. Upload routes come before blob routes.
const ROUTES: Route[] = [
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
    methods: { POST: { action: 'push', handler: uploads.startUpload } },
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    methods: {
      GET: { action: 'push', handler: uploads.uploadStatus },
      PATCH: { action: 'push', handler: uploads.appendChunk },
      PUT: { action: 'push', handler: uploads.finishUpload },
      DELETE: { action: 'push', handler: uploads.cancelUpload },
    },
  },
  {
    pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
    methods: {
      GET: { action: 'pull', handler: blobs.getBlob },
      HEAD: { action: 'pull', handler: blobs.getBlob },
      DELETE: { action: 'delete', handler: blobs.deleteBlob },
    },
  },
  {
    pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    methods: {
      GET: { action: 'pull', handler: manifests.getManifest },
      HEAD: { action: 'pull', handler: manifests.getManifest },
      PUT: { action: 'push', handler: manifests.putManifest },
      DELETE: { action: 'delete', handler: manifests.deleteManifest },
    },
  },
  { pattern: /^\/v2\/(.+)\/tags\/list$/, methods: { GET: { action: 'pull', handler: tags.listTags } } },
  { pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: { GET: { action: 'pull', handler: referrers.listReferrers } } },
];

function challengeActions(action: RegistryAction): string[] {
  return action === 'pull' ? ['pull'] : action === 'push' ? ['pull', 'push'] : [action];
}

/** Refuses a caller lacking an action without telling outsiders whether a private repository exists. */
function refusal(caller: Caller, action: RegistryAction): RegistryError {
  if (caller.kind === 'anonymous') return regErr('UNAUTHORIZED', 'authentication required');
  if (action === 'pull') return regErr('NAME_UNKNOWN', 'repository name not known to registry');
  return regErr('DENIED', 'requested access to the resource is denied');
}

/** Refuses a write (push, delete) to a repository whose state takes none; a missing one is the handler's to judge. */
function requireWritable(repo: Repository | null): void {
  const refusal = repo && registryWriteRefusal(repo);
  if (refusal) throw regErr(refusal.hidden ? 'NAME_UNKNOWN' : 'UNSUPPORTED', refusal.message);
}

/** Why a push may not create `name`: /api/v1 could never address the repository it would make. */
function unaddressable(name: string): RegistryError {
  const read = resolveRepoPath(name);
  const owner = read ? `${read.namespace}/${read.name}` : name;
  return regErr('NAME_INVALID', `cannot create repository ${name} by pushing: the API would read ${JSON.stringify(name.slice(owner.length + 1))} as an endpoint of repository ${owner}, not as part of the name; choose another name`);
}

/** The context handlers get, and `stored`: the repository row (read once per request), or null. */
function makeContext(
  deps: RegistryDeps, req: FastifyRequest, reply: FastifyReply, caller: Caller, name: string, params: string[],
): { ctx: RouteContext; stored: () => Promise<Repository | null> } {
  const parts = splitRepositoryPath(name)!;
  let repo: Repository | null | undefined;
  const lookup = async () => (repo === undefined ? (repo = await findRepository(deps.db, parts.namespace, parts.repository)) : repo);
  const ctx: RouteContext = {
    deps, req, reply, name, params, caller,
    namespace: parts.namespace,
    repository: parts.repository,
    async repo() {
      const found = await lookup();
      if (!found) throw regErr('NAME_UNKNOWN', `repository ${name} not found`);
      return found;
    },
    async repoForPush() {
      const found = await lookup();
      if (found) return found;
      // The token granted push on a repository that did not exist: create it now, as the caller.
      if (!isAddressable(parts.namespace, parts.repository)) throw unaddressable(name);
      const identity = await callerIdentity(deps, caller);
      const namespace = await findAccount(deps.db, parts.namespace);
      if (!namespace || namespace.kind === 'robot' || !(await canCreateIn(deps.db, identity, namespace))) {
        throw regErr('DENIED', `you may not create repositories in ${parts.namespace}`);
      }
      try {
        repo = await deps.db.transaction(async (tx) => {
          const created = await createRepository(tx, {
            namespace: parts.namespace, name: parts.repository,
            visibility: deps.config.CREATE_PRIVATE_REPO_ON_PUSH ? 'private' : 'public',
            creator: identity.kind === 'anonymous' ? undefined : identity.account,
          });
          await recordLog(tx, {
            kind: 'create_repo', performer: identity, ip: req.ip,
            namespace: { id: created.namespace_id, name: created.namespace }, repository: { id: created.id, name: created.name },
            metadata: { namespace: created.namespace, repo: created.name, created_on_push: true },
          });
          return created;
        });
      } catch (err) {
        // Two pushes racing to create it: the other one won, which is just as good.
        repo = await findRepository(deps.db, parts.namespace, parts.repository);
        if (!repo) throw err;
      }
      return repo;
    },
  };
  return { ctx, stored: lookup };
}

export async function registryRoutes(app: FastifyInstance, deps: RegistryDeps): Promise<void> {
  // Blobs and manifests are streamed or read raw by the handlers, whatever their content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  app.addHook('onRequest', async (_req, reply) => {
    reply.header('docker-distribution-api-version', 'registry/2.0');
  });

  app.setErrorHandler(async (err, req, reply) => {
    const regError = toRegistryError(err);
    if (!regError) {
      req.log.error({ err }, 'registry request failed');
      return reply.code(500).send({ errors: [{ code: 'UNKNOWN', message: 'internal server error', detail: null }] });
    }
    if (regError.code === 'UNAUTHORIZED') {
      const scope = (regError.detail as { scope?: { name: string; actions: string[] } } | undefined)?.scope;
      reply.header('www-authenticate', bearerChallenge(deps.config, scope));
    }
    return sendRegistryError(reply, regError);
  });

  // Pull records wait in a buffer for a moment; write them before the database closes.
  app.addHook('onClose', async () => flushLogBuffer(deps.db));

  app.get('/v2/auth', tokenHandler(deps));

  const base = async (req: FastifyRequest) => {
    if (!req.headers.authorization) throw regErr('UNAUTHORIZED', 'authentication required');
    await identifyCaller(deps, req);
    return {};
  };
  app.get('/v2', base);
  app.get('/v2/', base);

  app.get('/v2/_catalog', async (req, reply) => catalogHandler(deps, req, reply, await identifyCaller(deps, req)));

  app.all('/v2/*', async (req, reply) => {
    const path = req.url.split('?', 1)[0]!;
    for (const route of ROUTES) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      const entry = route.methods[req.method as Method];
      if (!entry) throw regErr('UNSUPPORTED', `${req.method} is not supported here`);
      const name = decodeURIComponent(m[1]!);
      if (!splitRepositoryPath(name)) {
        throw regErr('NAME_INVALID', `invalid repository name ${JSON.stringify(name)}: expected namespace/name in lowercase`);
      }
      // The challenge names the scope, so that the client knows what to ask /v2/auth for.
      const challenge = (err: unknown) => (err instanceof RegistryError && err.code === 'UNAUTHORIZED'
        ? regErr('UNAUTHORIZED', err.message, { scope: { name, actions: challengeActions(entry.action) } })
        : err);
      const caller = await identifyCaller(deps, req).catch((err: unknown) => { throw challenge(err); });
      if (!(await caller.actions(name)).has(entry.action)) throw challenge(refusal(caller, entry.action));
      const { ctx, stored } = makeContext(deps, req, reply, caller, name, m.slice(2).map((p) => decodeURIComponent(p)));
      // A token outlives a change of state, so every write looks at the state as it is now.
      if (req.method !== 'GET' && req.method !== 'HEAD') requireWritable(await stored());
      return entry.handler(ctx);
    }
    throw regErr('NAME_UNKNOWN', 'no such registry endpoint');
  });
}
