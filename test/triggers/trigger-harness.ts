// A real Slipway server with build support for the trigger tests, and helpers to call the trigger
// API and its webhook. No Podman answers here and the clone URLs point at a closed port: builds
// fail fast, which is all webhook tests need (they look at what was enqueued).
import { waitFor as waitUntil } from '../support/wait.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { basic, REPO_ROOT, startServer, type TestServer } from '../support/server.js';

export const ALICE = { user: 'alice', password: 'alice-password-1' };
export const BOB = { user: 'bob', password: 'bob-password-1' };
export type Who = typeof ALICE;

/** Nothing listens on port 1: a fetch fails at once instead of waiting on the network. */
export const UNREACHABLE_SOURCE = 'ssh://git@127.0.0.1:1/app.git';

export const API = '/api/v1/repository/alice/app';

export interface Harness {
  server: TestServer;
  req(method: string, path: string, opts?: { who?: Who | null; json?: unknown; headers?: Record<string, string> }): Promise<Reply>;
  /** Creates and activates a trigger; returns the activation answer. */
  activated(service: string, config?: Record<string, unknown>): Promise<Activated>;
  webhook(uuid: string, body: string | Buffer, headers: Record<string, string>): Promise<Reply>;
  /** The trigger's builds, newest first. */
  builds(uuid: string): Promise<any[]>;
  stop(): Promise<void>;
}

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export interface Activated {
  id: string;
  webhook_url: string;
  public_key: string;
  secret?: string;
  config: any;
  [k: string]: unknown;
}

export async function startTriggerServer(config: Record<string, unknown> = {}): Promise<Harness> {
  const server = await startServer({
    config: {
      FEATURE_BUILD_SUPPORT: true,
      BUILD_MANAGER: { ALLOWED_WORKER_COUNT: 1, LEASE_SECONDS: 5, MAX_ATTEMPTS: 1 },
      EXECUTORS: [{ EXECUTOR: 'podman', NAME: 'nowhere', PODMAN_HOST: 'unix:///nonexistent/podman.sock' }],
      // Every build here fails; only the auto-disable test wants that to switch triggers off.
      SUCCESSIVE_TRIGGER_FAILURE_DISABLE_THRESHOLD: 0,
      SUCCESSIVE_TRIGGER_INTERNAL_ERROR_DISABLE_THRESHOLD: 0,
      ...config,
    },
  });
  for (const u of [ALICE, BOB]) await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
  await server.cli('admin', 'create-repo', 'alice/app');

  async function req(method: string, p: string, opts: { who?: Who | null; json?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    const who = opts.who === undefined ? ALICE : opts.who;
    if (who) headers.authorization = basic(who.user, who.password);
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await fetch(`${server.url}${p}`, { method, headers, body });
    return reply(res);
  }

  return {
    server,
    req,
    async activated(service, config = {}) {
      const created = await req('POST', `${API}/trigger/`, { json: { service, config: { build_source: UNREACHABLE_SOURCE, ...config } } });
      if (created.status !== 201) throw new Error(`creating the trigger: ${created.status} ${JSON.stringify(created.body)}`);
      const act = await req('POST', `${API}/trigger/${created.body.id}/activate`, { json: {} });
      if (act.status !== 200) throw new Error(`activating the trigger: ${act.status} ${JSON.stringify(act.body)}`);
      return act.body as Activated;
    },
    async webhook(uuid, body, headers) {
      const res = await fetch(`${server.url}/webhooks/push/trigger/${uuid}`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Uint8Array(body) });
      return reply(res);
    },
    async builds(uuid) {
      const r = await req('GET', `${API}/trigger/${uuid}/builds?limit=100`);
      if (r.status !== 200) throw new Error(`listing builds: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.builds;
    },
    stop: () => server.stop(),
  };
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** A JSON fixture from test/triggers/fixtures (kept in the source tree, not compiled). */
export function fixture(name: string): any {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'test/triggers/fixtures', name), 'utf8'));
}

export function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  return waitUntil(what, fn, ms, 100);
}
