// The CNCF reference registry (distribution 2.8, Debian's `docker-registry`) on 127.0.0.1 and a
// free port, with filesystem storage in a temp folder: the yardstick for client wrappers, the
// benchmark, and the upstream for mirroring and the proxy cache. Stopped by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { freePort } from './server.js';

export const REFERENCE_REGISTRY_BIN = process.env.SLIPWAY_REFERENCE_REGISTRY ?? 'docker-registry';

/** The one account of a reference registry started with `auth: true`. */
export const REFERENCE_USER = 'reference';
export const REFERENCE_PASSWORD = 'reference-pass';
// bcrypt (cost 5, the lowest distribution accepts, since it hashes on every request) of
// REFERENCE_PASSWORD, made once with Python's crypt so that tests need no bcrypt library.
const REFERENCE_HTPASSWD = `${REFERENCE_USER}:$2b$05$tOaKU9rni8p95BX5imc8YOeJLr7SiIaPQ4yXiblo72QpnML3naVd6\n`;

export interface ReferenceRegistryOptions {
  /** Require Basic credentials (REFERENCE_USER / REFERENCE_PASSWORD) through htpasswd. */
  auth?: boolean;
  /** Extra configuration merged into config.yml (for example `proxy: { remoteurl }`). */
  config?: Record<string, unknown>;
}

export interface ReferenceRegistry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, what container clients are given. */
  host: string;
  port: number;
  pid: number;
  /** Its temp folder: config.yml, htpasswd and `data/` (the storage root). */
  dir: string;
  output(): string;
  /** Stops exactly this process and removes its temp folder. */
  stop(): Promise<void>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(extra)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${REFERENCE_REGISTRY_BIN} exited with ${child.exitCode}:\n${output()}`);
    try {
      // 401 is an answer too: the registry is up and asking for credentials.
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${REFERENCE_REGISTRY_BIN} did not answer on ${url}:\n${output()}`);
}

export async function startReferenceRegistry(opts: ReferenceRegistryOptions = {}): Promise<ReferenceRegistry> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-refreg-'));
  let config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: path.join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
  };
  if (opts.auth) {
    writeFileSync(path.join(dir, 'htpasswd'), REFERENCE_HTPASSWD);
    config.auth = { htpasswd: { realm: 'reference', path: path.join(dir, 'htpasswd') } };
  }
  if (opts.config) config = merge(config, opts.config);
  const configFile = path.join(dir, 'config.yml');
  writeFileSync(configFile, toYaml(config));

  let log = '';
  const child = spawn(REFERENCE_REGISTRY_BIN, ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`cannot run ${REFERENCE_REGISTRY_BIN}: ${err.message}`))));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitReady(url, child, () => log), spawnFailed]);
  } catch (err) {
    if (child.exitCode === null && child.pid) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    dir,
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
