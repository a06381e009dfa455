import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { CLI } from '../support/server.js';
import { basic, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { DOCKERFILE, makeTar, makeZip } from './archives.js';

const ALICE = { user: 'alice', password: 'alice-password-1' };
const BOB = { user: 'bob', password: 'bob-password-1' };
const FINAL = ['complete', 'error', 'internalerror', 'cancelled'];

describe(`build API (${TEST_DB})`, function () {
  this.timeout(120_000);
  let server: TestServer;
  const api = '/api/v1/repository/alice/app';

  before(async () => {
    server = await startServer({
      config: {
        FEATURE_BUILD_SUPPORT: true,
        BUILD_MANAGER: { ALLOWED_WORKER_COUNT: 1, LEASE_SECONDS: 5, MAX_ATTEMPTS: 1 },
        // No Podman answers here: every build ends internalerror, which is all these tests need.
        EXECUTORS: [{ EXECUTOR: 'podman', NAME: 'nowhere', PODMAN_HOST: 'unix:///nonexistent/podman.sock' }],
      },
    });
    for (const u of [ALICE, BOB]) await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    await server.cli('admin', 'create-repo', 'alice/app');
  });
  after(async () => server?.stop());

  async function req(method: string, path: string, opts: { who?: typeof ALICE | null; json?: unknown; form?: FormData } = {}) {
    const headers: Record<string, string> = {};
    const who = opts.who === undefined ? ALICE : opts.who;
    if (who) headers.authorization = basic(who.user, who.password);
    let body: BodyInit | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) body = opts.form;
    const res = await fetch(`${server.url}${path}`, { method, headers, body });
    const text = await res.text();
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  }

  function upload(bytes: Buffer | string, fields: Record<string, string> = {}): FormData {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)]), 'context');
    return form;
  }

  async function waitFinal(uuid: string): Promise<any> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await req('GET', `${api}/build/${uuid}`);
      if (FINAL.includes(r.body.phase)) return r.body;
      if (Date.now() > deadline) throw new Error(`build ${uuid} stuck in ${r.body.phase}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  it('starts a build from an uploaded Dockerfile: 201, Location, Quay\'s build view', async () => {
    const r = await req('POST', `${api}/build/`, { form: upload(DOCKERFILE, { docker_tags: 'v1,latest', build_args: '{"A":"1"}' }) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.headers.get('location'), `${api}/build/${r.body.id}`);
    for (const k of ['id', 'phase', 'started', 'display_name', 'tags', 'manual_user', 'trigger', 'trigger_metadata', 'pull_robot', 'repository', 'error', 'dockerfile_path', 'context', 'subdirectory', 'is_writer', 'status']) {
      assert.ok(k in r.body, `the view has ${k}`);
    }
    assert.deepEqual(r.body.tags, ['v1', 'latest']);
    assert.equal(r.body.manual_user, 'alice');
    assert.deepEqual(r.body.repository, { namespace: 'alice', name: 'app' });
    assert.equal(r.body.dockerfile_path, '/Dockerfile');
    assert.equal(r.body.trigger, null);
    const one = await req('GET', `${api}/build/${r.body.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.id, r.body.id);
    const ended = await waitFinal(r.body.id);
    assert.ok(FINAL.includes(ended.phase));
    const list = await req('GET', `${api}/build/?limit=10`);
    assert.ok(list.body.builds.some((b: any) => b.id === r.body.id));
    const audit = await req('GET', `${api}/logs`);
    const entry = audit.body.logs.find((l: any) => l.kind === 'build_dockerfile' && l.metadata.build_id === r.body.id);
    assert.ok(entry, `a build_dockerfile usage log entry: ${JSON.stringify(audit.body.logs.map((l: any) => l.kind))}`);
    assert.deepEqual(entry.metadata.docker_tags, ['v1', 'latest']);
    assert.equal(entry.performer.name, 'alice');
    const logs = await req('GET', `${api}/build/${r.body.id}/logs?start=0`);
    assert.equal(logs.status, 200);
    assert.equal(logs.body.start, 0);
    assert.equal(logs.body.total, logs.body.logs.length);
    assert.ok(logs.body.logs.some((l: any) => l.type === 'phase' && l.message === 'build-scheduled'));
    const tail = await req('GET', `${api}/build/${r.body.id}/logs?start=1`);
    assert.equal(tail.body.logs.length, logs.body.total - 1);
    assert.equal((await req('DELETE', `${api}/build/${r.body.id}`)).status, 400, 'an ended build cannot be cancelled');
  });

  it('accepts a tar with dockerfile_path and a zip', async () => {
    const tar = await req('POST', `${api}/build/`, { form: upload(makeTar([{ name: 'web/Dockerfile.prod', body: DOCKERFILE }]), { dockerfile_path: '/web/Dockerfile.prod' }) });
    assert.equal(tar.status, 201, JSON.stringify(tar.body));
    assert.equal(tar.body.dockerfile_path, '/web/Dockerfile.prod');
    assert.equal(tar.body.context, '/web');
    const zip = await req('POST', `${api}/build/`, { form: upload(makeZip({ Dockerfile: DOCKERFILE })) });
    assert.equal(zip.status, 201, JSON.stringify(zip.body));
    await waitFinal(tar.body.id);
    await waitFinal(zip.body.id);
  });

  it('refuses bad sources with a clear 400 before any build exists', async () => {
    const before = (await req('GET', `${api}/build/?limit=100`)).body.builds.length;
    const cases: [string, Parameters<typeof req>[2], RegExp][] = [
      ['no source', { json: {} }, /file \(multipart\) or give archive_url/],
      ['ftp archive_url', { json: { archive_url: 'ftp://example.com/a.tar' } }, /must be http or https/],
      ['silent archive_url', { json: { archive_url: 'http://127.0.0.1:1/a.tar' } }, /did not answer/],
      ['../ entry', { form: upload(makeTar([{ name: 'Dockerfile', body: DOCKERFILE }, { name: '../x', body: 'x' }])) }, /leaves the context/],
      ['absolute entry', { form: upload(makeTar([{ name: 'Dockerfile', body: DOCKERFILE }, { name: '/etc/x', body: 'x' }])) }, /absolute path/],
      ['escaping link', { form: upload(makeTar([{ name: 'Dockerfile', body: DOCKERFILE }, { name: 'l', type: '2', linkname: '../../etc' }])) }, /link pointing outside/],
      ['no Dockerfile', { form: upload(makeTar([{ name: 'README', body: 'x' }])) }, /no Dockerfile/],
      ['missing dockerfile_path', { form: upload(makeTar([{ name: 'Dockerfile', body: DOCKERFILE }]), { dockerfile_path: 'nope/Dockerfile' }) }, /no folder nope|no Dockerfile/],
      ['bad tag', { json: { archive_url: 'http://127.0.0.1:1/a.tar', docker_tags: ['-bad'] } }, /docker_tags/],
    ];
    for (const [what, opts, re] of cases) {
      const r = await req('POST', `${api}/build/`, opts);
      assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error_message, re, what);
    }
    assert.equal((await req('GET', `${api}/build/?limit=100`)).body.builds.length, before);
  });

  it('needs write to start and read to look', async () => {
    assert.equal((await req('POST', `${api}/build/`, { who: null, form: upload(DOCKERFILE) })).status, 401);
    assert.ok([403, 404].includes((await req('POST', `${api}/build/`, { who: BOB, form: upload(DOCKERFILE) })).status));
    assert.ok([403, 404].includes((await req('GET', `${api}/build/`, { who: BOB })).status));
    assert.equal((await req('GET', `${api}/build/00000000-0000-0000-0000-000000000000`)).status, 404);
  });

  it('streams the log over a WebSocket from `since`, then the final phase, then closes; same credentials as the API', async () => {
    const started = await req('POST', `${api}/build/`, { form: upload(DOCKERFILE) });
    const uuid = started.body.id;
    const wsUrl = `${server.url.replace('http', 'ws')}${api}/build/${uuid}/logs/stream?since=0`;
    const messages: any[] = [];
    const closeCode = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { authorization: basic(ALICE.user, ALICE.password) } });
      ws.on('message', (d) => messages.push(JSON.parse(String(d))));
      ws.on('close', (code) => resolve(code));
      ws.on('error', reject);
    });
    assert.equal(closeCode, 1000);
    const lines = messages.filter((m) => 'seq' in m);
    assert.ok(lines.length > 0);
    assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i));
    for (const l of lines) for (const k of ['seq', 'type', 'message', 'data', 'datetime']) assert.ok(k in l, k);
    const end = messages.at(-1);
    assert.equal(end.final, true);
    assert.ok(FINAL.includes(end.phase));
    // Resuming from a later seq replays only the rest.
    const resumed: any[] = [];
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(wsUrl.replace('since=0', `since=${lines.length - 1}`), { headers: { authorization: basic(ALICE.user, ALICE.password) } });
      ws.on('message', (d) => resumed.push(JSON.parse(String(d))));
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    assert.equal(resumed.length, 2);
    assert.equal(resumed[0].seq, lines.length - 1);
    // Without credentials: refused before the upgrade.
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    assert.equal(status, 401);
  });

  it('streams the log of a repository with a nested name (alice/team/app)', async () => {
    await server.cli('admin', 'create-repo', 'alice/team/app');
    const nested = '/api/v1/repository/alice/team/app';
    const started = await req('POST', `${nested}/build/`, { form: upload(DOCKERFILE) });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const messages: any[] = [];
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}${nested}/build/${started.body.id}/logs/stream`, { headers: { authorization: basic(ALICE.user, ALICE.password) } });
      ws.on('message', (d) => messages.push(JSON.parse(String(d))));
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    assert.ok(messages.some((m) => m.type === 'phase' && m.message === 'build-scheduled'), JSON.stringify(messages));
    assert.equal(messages.at(-1).final, true);
    // The build belongs to alice/team/app: through another repository's path it is not found.
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}${api}/build/${started.body.id}/logs/stream`, { headers: { authorization: basic(ALICE.user, ALICE.password) } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    assert.equal(status, 404);
  });

  it('`slipway build DIR` uploads the folder, follows the log with the phases, and exits non-zero unless it completes', async () => {
    const dir = mkdtempSync(nodePath.join(os.tmpdir(), 'slipway-cli-build-'));
    try {
      writeFileSync(nodePath.join(dir, 'Dockerfile'), DOCKERFILE);
      writeFileSync(nodePath.join(dir, 'hello.txt'), 'hello');
      const run = (args: string[]) => new Promise<{ code: number; out: string }>((resolve) => {
        execFile(CLI, args, { env: { ...process.env, SLIPWAY_PASSWORD: ALICE.password } }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
      });
      const r = await run(['build', dir, '--repo', 'alice/app', '--tag', 'cli', '--server', server.url, '--user', ALICE.user]);
      // No Podman answers this server, so the build ends internalerror: the command says so and fails.
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /build [0-9a-f-]{36} queued for alice\/app:cli/);
      assert.match(r.out, /==> build-scheduled/);
      assert.match(r.out, /: internalerror\n/);
      const refused = await run(['build', dir, '--repo', 'alice/app', '--server', server.url, '--user', BOB.user, '--password', BOB.password]);
      assert.equal(refused.code, 1);
      assert.match(refused.out, /refused \((403|404)\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
