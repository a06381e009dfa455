import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { Db } from './db/index.js';
import type { Keys } from './auth/secret-key.js';
import type { RegistryTokens } from './auth/registry-token.js';
import type { BlobStore } from '../registry/storage/blob-store.js';
import { registryRoutes } from '../registry/api/routes.js';
import { registryApiModule } from '../registry/rest/index.js';
import { healthRoutes } from './api/health.js';
import { metricsRoutes } from './api/metrics.js';
import { apiRoutes } from './api/routes.js';
import type { ApiModule } from './api/context.js';
import { oauthFlowRoutes } from './api/oauth-flow.js';
import { csrfTokenRoutes } from './api/session.js';

export interface AppDeps {
  config: Config;
  db: Db;
  log: Logger;
  keys: Keys;
  tokens: RegistryTokens;
  blobs: BlobStore;
  /** Subsystems' /api/v1 modules (the build API when FEATURE_BUILD_SUPPORT is on). */
  apiModules?: ApiModule[];
  /** Subsystems' routes outside /api/v1 (the trigger webhooks at /webhooks/...), each in its own scope. */
  routeModules?: ((app: FastifyInstance) => void | Promise<void>)[];
}

/** Mounts every surface on one HTTP server; everything it needs comes in through `deps`. */
export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as unknown as FastifyBaseLogger,
    // Our own onResponse hook logs requests: one compact line, failures at warn.
    logController: new LogController({ disableRequestLogging: true }),
    // Blob uploads can take long; the registry streams them and enforces its own limits.
    requestTimeout: 0,
    bodyLimit: 10 * 1024 * 1024,
    routerOptions: { maxParamLength: 1000 },
    return503OnClosing: true,
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 500) req.log.warn({ method: req.method, url: req.url, status: reply.statusCode }, 'request failed');
    else req.log.debug({ method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });
  await app.register(healthRoutes, { db: deps.db });
  // Not encapsulated, so its onResponse hook counts every surface's requests.
  await metricsRoutes(app);
  await app.register(async (scope) => registryRoutes(scope, deps));
  await app.register(async (scope) => apiRoutes(scope, { ...deps, apiModules: [registryApiModule, ...(deps.apiModules ?? [])] }), { prefix: '/api/v1' });
  await app.register(async (scope) => oauthFlowRoutes(scope, deps), { prefix: '/oauth' });
  await app.register(async (scope) => csrfTokenRoutes(scope, deps));
  for (const mod of deps.routeModules ?? []) await app.register(async (scope) => mod(scope));
  return app;
}
