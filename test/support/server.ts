// Starts the real Slipway server (the compiled CLI) on a free port, on SQLite or PostgreSQL
// according to SLIPWAY_TEST_DB, and stops it by its PID.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { stringify as toYaml } from 'yaml';

const execFileP = promisify(execFile);
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO_ROOT, 'bin', 'slipway');

export const TEST_DB: 'sqlite' | 'postgres' = process.env.SLIPWAY_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
const PG_ADMIN_URL = process.env.SLIPWAY_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let dbCounter = 0;

/** A fresh, empty PostgreSQL database for one server; dropped by the returned function. */
export async function freshPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `slipway_t_${process.pid}_${Date.now().toString(36)}_${dbCounter++}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface ServerOptions {
  /** Extra config.yaml keys. */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /** An existing PostgreSQL database instead of a fresh one, for replicas sharing it; the caller drops it. */
  databaseUrl?: string;
}

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, what container clients are given. */
  host: string;
  port: number;
  dataDir: string;
  pid: number;
  /** Runs `slipway ARGS…` against this server's database and data folder; resolves with stdout. */
  cli(...args: string[]): Promise<string>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same port, data folder and database. */
  restart(): Promise<void>;
  /** Stops the server and removes its data folder and database. */
  stop(): Promise<void>;
  /** Everything the server wrote to stdout and stderr. */
  output(): string;
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`slipway exited with ${child.exitCode} during start-up:\n${output()}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`slipway did not become healthy:\n${output()}`);
}

export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-test-'));
  const database = TEST_DB === 'postgres' && !opts.databaseUrl ? await freshPostgres() : null;
  const databaseUrl = opts.databaseUrl ?? database?.url;
  const configFile = path.join(dataDir, 'config.yaml');
  writeFileSync(configFile, toYaml({ LOG_LEVEL: 'warn', ...opts.config }));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    SLIPWAY_DATA_DIR: dataDir,
    SLIPWAY_CONFIG: configFile,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  };
  if (!databaseUrl) delete env.DATABASE_URL;
  let log = '';
  let child: ChildProcess;
  /** Children this helper itself stops or kills. */
  const stopping = new WeakSet<ChildProcess>();
  const url = `http://127.0.0.1:${port}`;

  const launch = async () => {
    child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/src/main.js'), 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const launched = child;
    // A server that dies on its own fails the tests after it with "connection refused": say why, once.
    launched.once('exit', (code, signal) => {
      if (!stopping.has(launched)) process.stderr.write(`\nslipway (pid ${launched.pid}) exited on its own (${signal ?? code}); its last output:\n${log.slice(-4000)}\n`);
    });
    await waitHealthy(url, child, () => log);
  };
  const exited = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });

  await launch();
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    dataDir,
    get pid() {
      return child.pid!;
    },
    async cli(...args) {
      const { stdout } = await execFileP(process.execPath, [path.join(REPO_ROOT, 'dist/src/main.js'), ...args], { env });
      return stdout.trim();
    },
    async kill() {
      stopping.add(child);
      child.kill('SIGKILL');
      await exited();
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) {
        stopping.add(child);
        child.kill('SIGTERM');
        await exited();
      }
      await launch();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        stopping.add(child);
        child.kill('SIGTERM');
        await exited();
      }
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    output: () => log,
  };
}

/** Basic auth header value. */
export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/** Fetches a registry bearer token for the scopes, as a Docker client would. */
export async function registryToken(server: TestServer, creds: { user: string; password: string } | null, ...scopes: string[]): Promise<string> {
  const qs = new URLSearchParams({ service: server.host });
  for (const s of scopes) qs.append('scope', s);
  const res = await fetch(`${server.url}/v2/auth?${qs}`, { headers: creds ? { authorization: basic(creds.user, creds.password) } : {} });
  if (!res.ok) throw new Error(`token request failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}
