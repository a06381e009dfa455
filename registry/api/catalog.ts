import type { FastifyReply, FastifyRequest } from 'fastify';
import { readableRepositoryIds } from '../../src/auth/policy.js';
import { listRepositoryNames } from '../../src/repos/repositories.js';
import { regErr } from '../errors.js';
import { callerIdentity } from './access.js';
import type { Caller, RegistryDeps } from './context.js';
import { fetchLimit, finishPage, pageRequest } from './pagination.js';

// As the reference registry does, the catalog answers in pages of 100 unless told otherwise.
const DEFAULT_PAGE = 100;

/** `GET /v2/_catalog`: the repositories this caller may pull, by full name. */
export async function catalogHandler(deps: RegistryDeps, req: FastifyRequest, reply: FastifyReply, caller: Caller): Promise<unknown> {
  if (caller.kind === 'anonymous' && !deps.config.FEATURE_ANONYMOUS_ACCESS) throw regErr('UNAUTHORIZED', 'authentication required');
  const identity = await callerIdentity(deps, caller);
  const page = pageRequest(req.query, DEFAULT_PAGE);
  const readable = readableRepositoryIds(deps.db, identity, { anonymousAccess: deps.config.FEATURE_ANONYMOUS_ACCESS });
  const rows = await listRepositoryNames(deps.db, readable, { last: page.last, limit: fetchLimit(page) });
  return { repositories: finishPage(reply, '/v2/_catalog', page, rows) };
}
