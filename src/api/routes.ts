import type { FastifyInstance } from 'fastify';
import { invalid } from '../errors.js';
import { identifyApiCaller } from './caller.js';
import type { ApiDeps, ApiModule } from './context.js';
import { discoveryRoutes } from './discovery.js';
import { apiErrorHandler } from './error-table.js';
import { logRoutes } from './logs.js';
import { oauthAppRoutes } from './oauth-apps.js';
import { organizationRoutes } from './organizations.js';
import { prototypeRoutes } from './prototypes.js';
import { repositoryRoutes } from './repo-router.js';
import { robotRoutes } from './robots.js';
import { sessionRoutes } from './session.js';
import { superuserRoutes } from './superuser.js';
import { teamRoutes } from './teams.js';
import { userRoutes } from './users.js';

// Every /api/v1 route module, registered in this order.
// discoveryRoutes comes first: it documents the routes registered after it.
const MODULES: ApiModule[] = [
  discoveryRoutes, userRoutes, superuserRoutes, organizationRoutes, teamRoutes, robotRoutes, repositoryRoutes, prototypeRoutes,
  oauthAppRoutes, logRoutes, sessionRoutes,
];

/** Mounts /api/v1: identifies the caller once, then each module's endpoints. */
export async function apiRoutes(app: FastifyInstance, deps: ApiDeps & { apiModules?: readonly ApiModule[] }): Promise<void> {
  app.decorateRequest('identity', null as never);
  app.setErrorHandler((err, req, reply) => apiErrorHandler(err as Error, reply, req.log));
  // Quay's documented curl calls send `Content-Type: application/json` on body-less requests
  // (DELETE, PUT …/members/x); an empty body there means no body, not malformed JSON.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    parseJson(req, text, (err, parsed) => (err ? done(invalid('body', `the request body is not valid JSON: ${err.message}`)) : done(null, parsed)));
  });
  app.addHook('preHandler', async (req) => {
    req.identity = await identifyApiCaller(deps.db, deps.keys, req);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ status: 404, error_type: 'not_found', title: 'not_found', error_message: `no API endpoint ${req.method} ${req.url.split('?')[0]}`, detail: 'not found' }),
  );
  for (const mod of MODULES) await mod(app, deps);
  // Subsystems' modules (builds…), handed in by the composition root.
  for (const mod of deps.apiModules ?? []) await mod(app, deps);
}
