import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values that win over the file and the environment (tests, CLI flags). */
  overrides?: Record<string, unknown>;
}

function readFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc == null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`config file ${file}: must be a mapping of keys to values`);
  }
  return doc as Record<string, unknown>;
}

/** Environment variables the README documents; each maps onto one config key. */
function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (env.PORT) out.PORT = env.PORT;
  if (env.SLIPWAY_DATA_DIR) out.DATA_DIR = env.SLIPWAY_DATA_DIR;
  if (env.DATABASE_URL) out.DB_URI = env.DATABASE_URL;
  if (env.SLIPWAY_LOG_LEVEL) out.LOG_LEVEL = env.SLIPWAY_LOG_LEVEL;
  return out;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.SLIPWAY_CONFIG;
  const raw = { ...(file ? readFile(file) : {}), ...fromEnv(env), ...(opts.overrides ?? {}) };
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.length ? issue.path.join('.') : '(root)';
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => `${[...issue.path, k].join('.')}: unknown key`).join('\n  ');
      }
      return `${key}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n  ${lines.join('\n  ')}`);
  }
  const parsed = result.data;
  const dataDir = path.resolve(parsed.DATA_DIR);
  const listenHost = parsed.LISTEN_ADDRESS.includes(':') ? `[${parsed.LISTEN_ADDRESS}]` : parsed.LISTEN_ADDRESS;
  return {
    ...parsed,
    DATA_DIR: dataDir,
    DB_URI: parsed.DB_URI ?? `sqlite:${path.join(dataDir, 'slipway.db')}`,
    SERVER_HOSTNAME: parsed.SERVER_HOSTNAME ?? `${listenHost}:${parsed.PORT}`,
    STORAGE: { DRIVER: 'filesystem', PATH: path.resolve(dataDir, parsed.STORAGE.PATH ?? 'storage') },
  };
}
