import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { createDb, migrate, type Db } from './db/index.js';
import { createKeys, resolveSecretKey, type Keys } from './auth/secret-key.js';
import { createRegistryTokens, type RegistryTokens } from './auth/registry-token.js';

/** What both the server and the admin CLI open: the database (migrated) and the keys. */
export interface Runtime {
  config: Config;
  db: Db;
  keys: Keys;
  tokens: RegistryTokens;
  log: Logger;
}

export async function openRuntime(config: Config, opts: { logDestination?: number } = {}): Promise<Runtime> {
  const log = pino({ level: config.LOG_LEVEL, base: { svc: 'slipway' } }, pino.destination(opts.logDestination ?? 1));
  const db = createDb(config.DB_URI);
  await migrate(db);
  const keys = createKeys(resolveSecretKey(config.SECRET_KEY, config.DATA_DIR));
  const tokens = createRegistryTokens({ key: keys.tokenSigning, service: config.SERVER_HOSTNAME, lifetimeS: config.REGISTRY_TOKEN_LIFETIME_S });
  return { config, db, keys, tokens, log };
}
