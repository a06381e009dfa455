import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/index.js';
import type { Keys } from '../auth/secret-key.js';
import { requireApi, type ApiNeed, type Identity } from '../auth/policy.js';
import { recordLog, type LogEntryInput } from '../audit/usage-log.js';
import type { Queryable } from '../db/index.js';

export interface ApiDeps {
  db: Db;
  config: Config;
  keys: Keys;
  log: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who calls, set before any /api/v1 handler runs. */
    identity: Identity;
  }
}

/** A route module: registers its endpoints on the /api/v1 scope. */
export type ApiModule = (app: FastifyInstance, deps: ApiDeps) => void | Promise<void>;

/** Asks the policy whether the caller may; throws the refusal (401/403/404) otherwise. */
export function authorize(deps: ApiDeps, req: FastifyRequest, need: ApiNeed): Promise<void> {
  return requireApi(deps.db, req.identity, need, { anonymousAccess: deps.config.FEATURE_ANONYMOUS_ACCESS });
}

/** Records a usage log entry performed by the caller; pass the change's transaction as `db`. */
export function audit(db: Queryable, req: FastifyRequest, entry: Omit<LogEntryInput, 'performer' | 'ip'>): Promise<void> {
  return recordLog(db, { ...entry, performer: req.identity, ip: req.ip });
}
