import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { request } from '../registry/registry-client.js';
import { call, type Creds } from './account-api.js';
import { pushImage } from './repo-api.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const ROOT: Creds = { user: 'root', password: 'root-password-1' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DAY = 86_400_000;

/** MM/DD/YYYY in UTC, `days` from today. */
function day(days: number): string {
  const d = new Date(Date.now() + days * DAY);
  return `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${d.getUTCFullYear()}`;
}

interface LogEntry {
  kind: string;
  metadata: Record<string, unknown>;
  ip: string;
  datetime: string;
  performer?: { kind: string; name: string; is_robot: boolean; avatar: { name: string; kind: string } };
  namespace?: { kind: string; name: string };
}

/** Polls until `check` passes: pull records are written a moment after the pull is answered. */
async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = await fn();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe(`usage logs (${TEST_DB})`, function () {
  let server: TestServer;
  let robotToken: string;
  let digest: string;

  async function pull(who: Creds, repo: string, ref: string): Promise<void> {
    const token = await registryToken(server, who, `repository:${repo}:pull`);
    const res = await request(server, 'GET', `/v2/${repo}/manifests/${ref}`, { token, headers: { accept: OCI_MANIFEST } });
    assert.equal(res.status, 200);
  }

  const logsOf = async (who: Creds, path: string) => {
    const res = await call(server, who, 'GET', path);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { start_time: string; end_time: string; logs: LogEntry[]; next_page?: string };
  };

  before(async () => {
    server = await startServer();
    for (const u of [ALICE, BOB]) await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    await server.cli('admin', 'create-user', ROOT.user, '--email', 'root@example.com', '--password', ROOT.password, '--superuser');
    await server.cli('admin', 'create-org', 'acme', '--owner', ALICE.user);
    robotToken = await server.cli('admin', 'create-robot', 'acme+bot');
    digest = await pushImage(server, ALICE, 'acme/app', 'v1');
    await server.cli('admin', 'grant', 'acme/app', 'acme+bot', 'read');
    await pull({ user: 'acme+bot', password: robotToken }, 'acme/app', 'v1');
    await pull(ALICE, 'acme/app', digest);
    // An API change: alice creates an OAuth application.
    assert.equal((await call(server, ALICE, 'POST', '/organization/acme/applications', { name: 'logged' })).status, 200);
  });
  after(async () => server?.stop());

  it('records a registry push and pulls with the right performer', async () => {
    const body = await eventually(() => logsOf(ALICE, '/repository/acme/app/logs'), (b) => b.logs.filter((l) => l.kind === 'pull_repo').length === 2, 'two pulls');
    const push = body.logs.find((l) => l.kind === 'push_repo')!;
    assert.deepEqual(push.metadata, { namespace: 'acme', repo: 'app', tag: 'v1', manifest_digest: digest });
    assert.equal(push.performer!.name, 'alice');
    assert.equal(push.performer!.is_robot, false);
    assert.equal(push.performer!.kind, 'user');
    assert.equal(push.namespace, undefined, 'a repository listing does not repeat its namespace');
    assert.match(push.datetime, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} -0000$/);
    assert.equal(push.ip, '127.0.0.1');
    const [byDigest, byTag] = body.logs.filter((l) => l.kind === 'pull_repo');
    assert.deepEqual(byTag!.metadata, { namespace: 'acme', repo: 'app', tag: 'v1' });
    assert.deepEqual(byTag!.performer, {
      kind: 'user', name: 'acme+bot', is_robot: true, avatar: { ...byTag!.performer!.avatar, name: 'acme+bot', kind: 'robot' },
    });
    assert.deepEqual(byDigest!.metadata, { namespace: 'acme', repo: 'app', manifest_digest: digest });
    assert.equal(byDigest!.performer!.name, 'alice');
    const created = body.logs.find((l) => l.kind === 'create_repo')!;
    assert.deepEqual(created.metadata, { namespace: 'acme', repo: 'app', created_on_push: true });
    assert.equal(created.performer!.name, 'alice');
  });

  it('records API changes in the organization’s logs, and filters by performer', async () => {
    const org = await logsOf(ALICE, '/organization/acme/logs');
    const created = org.logs.find((l) => l.kind === 'create_application')!;
    assert.equal(created.performer!.name, 'alice');
    assert.equal(created.metadata.application_name, 'logged');
    assert.ok(org.logs.some((l) => l.kind === 'push_repo'), 'repository entries belong to the organization too');
    const robotOnly = await logsOf(ALICE, '/organization/acme/logs?performer=acme%2Bbot');
    assert.ok(robotOnly.logs.length > 0);
    assert.ok(robotOnly.logs.every((l) => l.performer?.name === 'acme+bot'));
  });

  it('filters by date (MM/DD/YYYY, UTC, end day included) and refuses bad dates', async () => {
    const today = await logsOf(ALICE, `/repository/acme/app/logs?starttime=${day(0)}&endtime=${day(0)}`);
    assert.ok(today.logs.length >= 3);
    assert.equal(new Date(today.end_time.replace('-0000', 'GMT')).getTime() - new Date(today.start_time.replace('-0000', 'GMT')).getTime(), DAY);
    assert.deepEqual((await logsOf(ALICE, `/repository/acme/app/logs?starttime=${day(1)}&endtime=${day(2)}`)).logs, []);
    assert.deepEqual((await logsOf(ALICE, `/repository/acme/app/logs?starttime=${day(-3)}&endtime=${day(-1)}`)).logs, []);
    for (const [qs, field] of [['starttime=2024-01-01', 'starttime'], ['endtime=13/01/2024', 'endtime'], ['starttime=02/30/2024', 'starttime'], [`starttime=${day(0)}&endtime=${day(-2)}`, 'endtime']]) {
      const res = await call(server, ALICE, 'GET', `/repository/acme/app/logs?${qs}`);
      assert.equal(res.status, 400, qs);
      assert.equal(res.body.field, field, qs);
    }
  });

  it('pages with next_page, newest first, without gaps or repeats', async () => {
    const token = await registryToken(server, ALICE, 'repository:acme/app:pull');
    for (let i = 0; i < 23; i++) assert.equal((await request(server, 'GET', '/v2/acme/app/manifests/v1', { token, headers: { accept: OCI_MANIFEST } })).status, 200);
    const total = 23 + 4; // and the two pulls, the push and the creation by push from before
    await eventually(() => call(server, ALICE, 'GET', '/repository/acme/app/aggregatelogs'), (r) => r.body.aggregated.reduce((n: number, a: { count: number }) => n + a.count, 0) === total, 'every pull written');
    const first = await logsOf(ALICE, '/repository/acme/app/logs');
    assert.equal(first.logs.length, 20);
    assert.ok(first.next_page);
    const second = await logsOf(ALICE, `/repository/acme/app/logs?next_page=${encodeURIComponent(first.next_page!)}`);
    assert.equal(second.logs.length, total - 20);
    assert.equal(second.next_page, undefined);
    assert.equal(second.logs[second.logs.length - 1]!.kind, 'create_repo', 'the oldest entry comes last');
    const bad = await call(server, ALICE, 'GET', '/repository/acme/app/logs?next_page=garbage');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'next_page');
  });

  it('aggregates counts per kind and day, over at most a month', async () => {
    const res = await call(server, ALICE, 'GET', '/repository/acme/app/aggregatelogs');
    assert.equal(res.status, 200);
    const byKind = Object.fromEntries(res.body.aggregated.map((a: { kind: string; count: number }) => [a.kind, a.count]));
    assert.deepEqual(byKind, { pull_repo: 25, push_repo: 1, create_repo: 1 });
    assert.match(res.body.aggregated[0].datetime, / 00:00:00 -0000$/);
    const long = await call(server, ALICE, 'GET', `/repository/acme/app/aggregatelogs?starttime=${day(-40)}&endtime=${day(0)}`);
    assert.equal(long.status, 400);
    assert.equal(long.body.field, 'starttime');
  });

  it('reads user and superuser logs; refuses those who may not read', async () => {
    await pushImage(server, ALICE, 'alice/mine', 'latest');
    const mine = await logsOf(ALICE, '/user/logs');
    assert.deepEqual(mine.logs.map((l) => l.kind), ['push_repo', 'create_repo']);
    const all = await logsOf(ROOT, '/superuser/logs');
    assert.equal(all.logs[0]!.kind, 'push_repo');
    assert.deepEqual([all.logs[0]!.namespace!.name, all.logs[0]!.namespace!.kind], ['alice', 'user'], 'entries across namespaces name theirs');
    const robot = await logsOf(ROOT, '/superuser/logs?performer=acme%2Bbot');
    assert.deepEqual([robot.logs[0]!.namespace!.name, robot.logs[0]!.namespace!.kind], ['acme', 'org']);
    assert.equal((await call(server, ROOT, 'GET', '/repository/acme/app/logs')).status, 200, 'superusers read any repository’s logs');

    assert.equal((await call(server, BOB, 'GET', '/repository/acme/app/logs')).status, 404);
    assert.equal((await call(server, null, 'GET', '/repository/acme/app/logs')).status, 401);
    assert.equal((await call(server, BOB, 'GET', '/organization/acme/logs')).status, 404);
    assert.equal((await call(server, ALICE, 'GET', '/superuser/logs')).status, 403);
    assert.equal((await call(server, BOB, 'GET', '/user/logs')).body.logs.length, 0);
    assert.equal((await call(server, { user: 'acme+bot', password: robotToken }, 'GET', '/repository/acme/app/logs')).status, 401, 'robots have no API');
    // A reader of the repository is not its admin.
    await server.cli('admin', 'grant', 'acme/app', 'bob', 'read');
    assert.equal((await call(server, BOB, 'GET', '/repository/acme/app/logs')).status, 403);
  });

  it('writes the pull records still queued when the server shuts down', async () => {
    await pushImage(server, ALICE, 'acme/shutdown', 'v1');
    await pull(ALICE, 'acme/shutdown', 'v1');
    await server.restart(); // SIGTERM right after the pull, well inside the buffer's delay
    const logs = await logsOf(ALICE, '/repository/acme/shutdown/logs');
    assert.deepEqual(logs.logs.map((l) => l.kind), ['pull_repo', 'push_repo', 'create_repo']);
  });

  /** Runs `fn` with a callback URL whose POSTed bodies land in `received`. */
  async function withCallback(fn: (url: string, received: Record<string, unknown>[]) => Promise<void>): Promise<void> {
    const received: Record<string, unknown>[] = [];
    const hook = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        received.push(JSON.parse(data) as Record<string, unknown>);
        res.end('ok');
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    try {
      await fn(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/exported`, received);
    } finally {
      hook.close();
    }
  }

  it('exports the logs to a file and POSTs its URL to the callback', async () => {
    await withCallback(async (callback, received) => {
      const res = await call(server, ALICE, 'POST', '/repository/acme/app/exportlogs', { callback_url: callback });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const exportId = res.body.export_id as string;
      await eventually(async () => received.length, (n) => n === 1, 'the callback');
      const note = received[0]!;
      assert.equal(note.export_id, exportId);
      assert.equal(note.status, 'success');
      assert.deepEqual([note.namespace, note.repository], ['acme', 'app']);
      assert.equal(typeof note.start_time, 'string');
      assert.equal(typeof note.end_time, 'string');
      const file = await fetch(String(note.exported_data_url));
      assert.equal(file.status, 200);
      const exported = (await file.json()) as { export_id: string; details: Record<string, unknown>; logs: LogEntry[] };
      assert.equal(exported.export_id, exportId);
      assert.equal(exported.details.repository, 'app');
      assert.equal(exported.details.start_time, note.start_time);
      assert.equal(exported.logs.filter((l) => l.kind === 'pull_repo').length, 25);
      assert.ok(exported.logs.some((l) => l.kind === 'push_repo' && l.performer?.name === 'alice'));
      const forged = String(note.exported_data_url).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      assert.equal((await fetch(forged)).status, 404);
      const queued = (await logsOf(ALICE, '/repository/acme/app/logs')).logs[0]!;
      assert.equal(queued.kind, 'export_logs_success');
      assert.equal(queued.performer!.name, 'alice');
      assert.deepEqual(queued.metadata, { export_id: exportId, url: callback, email: null, repo: 'app' });
      assert.equal((await call(server, BOB, 'POST', '/organization/acme/exportlogs', { callback_url: callback })).status, 404);
      assert.equal(received.length, 1);
    });
  });

  it('refuses bad export requests with 400 naming the field, and records each refusal as Quay does', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ callback_url: 'ftp://example.com' }, '', 'callback_url'],
      [{}, '', 'callback_url'],
      [{ callback_email: 'a@b.c' }, '', 'callback_email'],
      [{ callback_url: 'https://example.com/hook' }, `?starttime=${day(0)}&endtime=${day(-2)}`, 'endtime'],
    ];
    for (const [body, qs, field] of cases) {
      const bad = await call(server, ALICE, 'POST', `/repository/acme/app/exportlogs${qs}`, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.field, field, JSON.stringify(body));
    }
    const refused = (await logsOf(ALICE, '/repository/acme/app/logs')).logs.slice(0, cases.length).reverse();
    assert.deepEqual(refused.map((l) => l.kind), cases.map(() => 'export_logs_failure'));
    assert.ok(refused.every((l) => l.performer?.name === 'alice' && l.metadata.repo === 'app' && typeof l.metadata.error === 'string'));
    assert.deepEqual(refused.map((l) => [l.metadata.url, l.metadata.email]), [
      ['ftp://example.com', null], [null, null], [null, 'a@b.c'], ['https://example.com/hook', null],
    ]);
    assert.match(String(refused[0]!.metadata.error), /callback_url must start with/);
  });

  it('tells the callback and records it when an export fails after it was queued', async () => {
    // The export folder turned into a file: nothing can be written there.
    const exportsDir = path.join(server.dataDir, 'log-exports');
    rmSync(exportsDir, { recursive: true, force: true });
    writeFileSync(exportsDir, 'not a folder');
    try {
      await withCallback(async (callback, received) => {
        const res = await call(server, ALICE, 'POST', '/organization/acme/exportlogs', { callback_url: callback });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const exportId = res.body.export_id as string;
        await eventually(async () => received.length, (n) => n === 1, 'the callback');
        const { start_time, end_time, ...note } = received[0]!;
        assert.deepEqual(note, { export_id: exportId, namespace: 'acme', repository: null, exported_data_url: null, status: 'failed' });
        assert.equal(typeof start_time, 'string');
        assert.equal(typeof end_time, 'string');
        const logs = (await logsOf(ALICE, '/organization/acme/logs')).logs.filter((l) => l.metadata.export_id === exportId);
        assert.deepEqual(logs.map((l) => l.kind), ['export_logs_failure', 'export_logs_success']);
        assert.ok(logs.every((l) => l.performer?.name === 'alice'));
        const failure = logs[0]!.metadata;
        assert.deepEqual({ ...failure, error: undefined }, { export_id: exportId, url: callback, email: null, error: undefined });
        assert.doesNotMatch(String(failure.error), /log-exports|ENOTDIR|EEXIST/, 'the server\'s paths and errors stay in its own log');
      });
    } finally {
      rmSync(exportsDir, { force: true });
    }
  });
});
