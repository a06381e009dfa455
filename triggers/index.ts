// Build triggers, assembled for the composition root (src/main.ts): the trigger API, the webhook
// route, the hook that counts failed builds, and who triggered builds push as.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema.js';
import type { Db, Queryable, Tx } from '../src/db/index.js';
import type { Keys } from '../src/auth/secret-key.js';
import type { ApiModule } from '../src/api/context.js';
import { registerRepositoryEndpoints } from '../src/api/repo-router.js';
import type { Build } from '../buildman/build-model.js';
import type { BuildQueue } from '../buildman/queue.js';
import { triggerEndpoints } from './api/trigger-endpoints.js';
import { webhookRoutes } from './webhook/webhook-routes.js';
import { countTriggerOutcomes } from './auto-disable.js';
import { generateDeployKey } from './deploy-key.js';
import { resolveRef } from './git-source.js';

export interface TriggersDeps {
  config: Config;
  db: Db;
  keys: Keys;
  log: Logger;
  queue: BuildQueue;
}

export interface Triggers {
  /** Registers the trigger endpoints; hand it to createApp's apiModules. */
  apiModule: ApiModule;
  /** The webhook endpoint; hand it to createApp's routeModules. */
  routeModule: (app: FastifyInstance) => Promise<void>;
  /** For BuildManagerDeps.onFinished: counts successive failures and disables the trigger. */
  onFinished: (tx: Tx, build: Build) => Promise<void>;
  /** For BuildManagerDeps.pushUser: a triggered build pushes as the trigger's connected user. */
  pushUser: (build: Build) => Promise<string | null>;
}

/** The user a trigger's builds push as (Quay's connected_user), or null. */
export async function triggerPushUser(db: Queryable, build: Build): Promise<string | null> {
  if (!build.trigger) return null;
  const row = await db('build_triggers as t').join('accounts as u', 'u.id', 't.connected_user_id').where('t.uuid', build.trigger.id).first('u.name');
  return (row?.name as string | undefined) ?? null;
}

export function createTriggers(deps: TriggersDeps): Triggers {
  const { config, db, keys, log, queue } = deps;
  const site = { host: config.SERVER_HOSTNAME, scheme: config.PREFERRED_URL_SCHEME };
  const endpoints = triggerEndpoints({ queue, site, generateDeployKey, resolveRef });
  return {
    apiModule: () => registerRepositoryEndpoints(endpoints),
    routeModule: webhookRoutes({ db, keys, queue, log: log.child({ component: 'triggers' }) }),
    onFinished: countTriggerOutcomes({
      failures: config.SUCCESSIVE_TRIGGER_FAILURE_DISABLE_THRESHOLD,
      internalErrors: config.SUCCESSIVE_TRIGGER_INTERNAL_ERROR_DISABLE_THRESHOLD,
    }),
    pushUser: (build) => triggerPushUser(db, build),
  };
}
