// Issue 4 end to end, every build in a real Podman API service: a Dockerfile uploaded through the
// API builds while a WebSocket watcher sees every phase and the RUN output live, and a robot pulls
// the tags; failing builds end `error` once and leave no tag; cancel leaves nothing in Podman; a
// private base image comes with the pull robot's credentials; `slipway build` follows a build from
// the terminal; builds survive a SIGKILL of the server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { mustSucceed, type Clients } from '../support/clients.js';
import { ALICE, enableBuilds, seedBuildWorld } from '../support/build-world.js';
import { waitFor } from '../support/wait.js';
import type { PodmanService } from '../support/podman-service.js';
import { basic, REPO_ROOT, startServer, TEST_DB, type TestServer } from '../support/server.js';

const FINAL = ['complete', 'error', 'internalerror', 'cancelled', 'expired'];
const AUTH = { authorization: basic(ALICE.user, ALICE.password) };

interface BuildView { id: string; phase: string; error: string | null; manifest_digests: string[]; pull_robot: unknown }
interface LogLine { seq: number; type: string; message: string; data: Record<string, unknown>; datetime: string }

describe(`a Dockerfile build through the API with Podman (${TEST_DB})`, function () {
  this.timeout(600_000);
  let server: TestServer;
  let service: PodmanService;
  let clients: Clients;
  let readerToken = '';
  const api = '/api/v1/repository/acme/app';

  before(async () => {
    server = await startServer();
    ({ clients, readerToken } = await seedBuildWorld(server));
    service = await enableBuilds(server);
  });
  after(async () => {
    await service?.stop();
    clients?.dispose();
    await server?.stop();
  });

  async function startBuild(dockerfile: string, fields: Record<string, string> = {}): Promise<string> {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', new Blob([dockerfile]), 'Dockerfile');
    const res = await fetch(`${server.url}${api}/build/`, { method: 'POST', headers: AUTH, body: form });
    const body = (await res.json()) as { id: string };
    assert.equal(res.status, 201, JSON.stringify(body));
    return body.id;
  }
  async function view(id: string): Promise<BuildView> {
    return (await (await fetch(`${server.url}${api}/build/${id}`, { headers: AUTH })).json()) as BuildView;
  }
  async function logs(id: string): Promise<LogLine[]> {
    return ((await (await fetch(`${server.url}${api}/build/${id}/logs?start=0`, { headers: AUTH })).json()) as { logs: LogLine[] }).logs;
  }
  const until = <T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 300_000) => waitFor(what, fn, ms, 200);
  const finalView = (id: string) => until(`build ${id} to end`, async () => {
    const v = await view(id);
    return FINAL.includes(v.phase) ? v : null;
  });
  /** Whether the tag exists in Slipway, asked as the robot that may read the repository. */
  async function tagExists(tag: string): Promise<boolean> {
    const r = await clients.skopeo(['inspect', '--raw', '--creds', `acme+reader:${readerToken}`, `docker://${server.host}/acme/app:${tag}`]);
    if (r.code === 0) return true;
    assert.match(r.stderr, /manifest unknown|not found/i, `skopeo failed for another reason: ${r.stderr}`);
    return false;
  }
  /** Containers left in the Podman service (buildah working containers included). */
  async function leftovers(): Promise<string> {
    const ps = mustSucceed('podman ps --external', await service.clients.podman(['ps', '--all', '--external', '--quiet']));
    return ps.stdout.trim();
  }

  it('builds, streams phases and RUN output live, and a robot pulls every tag', async () => {
    const dockerfile = `FROM ${server.host}/library/busybox:latest\nRUN echo hello-from-run > /greeting && cat /greeting\n`;
    const form = new FormData();
    form.append('docker_tags', 'v1,latest');
    form.append('file', new Blob([dockerfile]), 'Dockerfile');
    const res = await fetch(`${server.url}${api}/build/`, { method: 'POST', headers: { authorization: basic(ALICE.user, ALICE.password) }, body: form });
    const started = (await res.json()) as { id: string };
    assert.equal(res.status, 201, JSON.stringify(started));

    const messages: { seq?: number; type?: string; message?: string; phase?: string; final?: boolean }[] = [];
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}${api}/build/${started.id}/logs/stream?since=0`, {
        headers: { authorization: basic(ALICE.user, ALICE.password) },
      });
      ws.on('message', (d) => messages.push(JSON.parse(String(d))));
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    const end = messages.at(-1)!;
    const view = (await (await fetch(`${server.url}${api}/build/${started.id}`, { headers: { authorization: basic(ALICE.user, ALICE.password) } })).json()) as {
      phase: string; error: string | null; manifest_digests: string[];
    };
    assert.equal(view.phase, 'complete', `build ended ${view.phase}: ${view.error}\n${messages.map((m) => m.message ?? m.phase).join('\n')}`);
    assert.equal(end.final, true);
    assert.ok(FINAL.includes(end.phase!));
    const phases = messages.filter((m) => m.type === 'phase').map((m) => m.message);
    for (const p of ['building', 'pushing']) assert.ok(phases.some((x) => x?.includes(p)), `phase ${p} streamed: ${phases.join(', ')}`);
    assert.ok(messages.some((m) => m.type === 'command' && /RUN echo hello-from-run/.test(m.message ?? '')), 'the RUN step is a command line');
    assert.ok(messages.some((m) => m.type !== 'command' && /^hello-from-run$/m.test(m.message ?? '')), 'the RUN output streamed');

    const listed = mustSucceed('robot lists tags', await clients.skopeo(['list-tags', '--creds', `acme+reader:${readerToken}`, `docker://${server.host}/acme/app`]));
    const tags = (JSON.parse(listed.stdout) as { Tags: string[] }).Tags;
    assert.deepEqual(tags.filter((t) => ['v1', 'latest'].includes(t)).sort(), ['latest', 'v1']);
    assert.ok(!tags.some((t) => t.startsWith('slipway-build-')), `the staging tag is gone once the build completes: ${tags.join(', ')}`);
    for (const tag of ['v1', 'latest']) {
      const inspect = mustSucceed(`robot inspects ${tag}`, await clients.skopeo([
        'inspect', '--format', '{{.Digest}}', '--creds', `acme+reader:${readerToken}`, `docker://${server.host}/acme/app:${tag}`,
      ]));
      assert.equal(inspect.stdout.trim(), view.manifest_digests[0], `tag ${tag} points at the built manifest`);
    }
  });
  it('a failing RUN ends error at once with the command output in the log, runs once, and leaves no tag', async () => {
    const id = await startBuild(`FROM ${server.host}/library/busybox:latest\nRUN echo about-to-fail && exit 3\n`, { docker_tags: 'broken' });
    const v = await finalView(id);
    assert.equal(v.phase, 'error', JSON.stringify(v));
    assert.ok(v.error, 'the build view carries the builder\'s error');
    const lines = await logs(id);
    assert.ok(lines.some((l) => l.type !== 'command' && /^about-to-fail$/m.test(l.message)), 'the failing command\'s output is in the log');
    const scheduled = lines.filter((l) => l.type === 'phase' && l.message === 'build-scheduled');
    assert.equal(scheduled.length, 1, 'a Dockerfile error is not retried');
    assert.equal(lines.filter((l) => l.type === 'error').length, 1, `the error is logged once: ${lines.filter((l) => l.type === 'error').map((l) => l.message).join(' | ')}`);
    assert.equal(await tagExists('broken'), false, 'a failed build leaves no tag');
    assert.equal(await leftovers(), '', 'the failed build\'s working container is removed');
  });

  it('an unknown instruction ends error with the builder\'s message', async () => {
    const id = await startBuild(`FROM ${server.host}/library/busybox:latest\nFROBNICATE the-widgets\n`, { docker_tags: 'unknown-instruction' });
    const v = await finalView(id);
    assert.equal(v.phase, 'error', JSON.stringify(v));
    assert.match(v.error ?? '', /frobnicate/i, 'the error names the instruction');
    assert.equal((await logs(id)).filter((l) => l.type === 'phase' && l.message === 'build-scheduled').length, 1, 'not retried');
    assert.equal(await tagExists('unknown-instruction'), false);
  });

  it('cancel during building ends it at once and the Podman service keeps nothing of it', async () => {
    const id = await startBuild(`FROM ${server.host}/library/busybox:latest\nRUN echo sleeping && sleep 60\nRUN echo never-reached\n`, { docker_tags: 'cancelled' });
    await until('the RUN step to start', async () => (await logs(id)).some((l) => /^sleeping$/m.test(l.message) && l.type !== 'command'));
    const res = await fetch(`${server.url}${api}/build/${id}`, { method: 'DELETE', headers: AUTH });
    assert.equal(res.status, 201, 'cancel answers 201 as Quay\'s does');
    assert.equal((await view(id)).phase, 'cancelled', 'the build is cancelled when the request is answered');
    // The executor aborts the Podman build and removes its working container; give it the seconds it needs.
    const left = await until('the Podman service to drop the build', async () => ((await leftovers()) === '' ? 'none' : null), 30_000).catch(() => null);
    assert.equal(left, 'none', `containers left behind: ${await leftovers()}`);
    assert.ok(!(await logs(id)).some((l) => /^never-reached$/m.test(l.message) && l.type !== 'command'), 'the build did not go on');
    assert.equal(await tagExists('cancelled'), false, 'a cancelled build leaves no tag');
  });

  it('a private base image in Slipway is pulled with the pull robot\'s credentials, and without them the build fails', async () => {
    const admin = (...args: string[]) => server.cli('admin', ...args);
    await admin('create-repo', 'acme/base', '--private');
    await admin('create-robot', 'acme+puller');
    await admin('grant', 'acme/base', 'acme+puller', 'read');
    const base = await clients.makeBaseImage('localhost/slipway-test/private-base:latest');
    mustSucceed('push the private base', await clients.podman(['push', base, `${server.host}/acme/base:latest`]));
    const dockerfile = `FROM ${server.host}/acme/base:latest\nRUN echo built-on-private-base\n`;

    const withRobot = await startBuild(dockerfile, { docker_tags: 'private-base', pull_robot: 'acme+puller' });
    const ok = await finalView(withRobot);
    assert.equal(ok.phase, 'complete', `${ok.error}\n${(await logs(withRobot)).map((l) => l.message).join('\n')}`);
    assert.equal(await tagExists('private-base'), true);

    // Alice's push token is for acme/app alone: without the robot, the private base is out of reach.
    const without = await startBuild(dockerfile, { docker_tags: 'no-robot' });
    const failed = await finalView(without);
    assert.equal(failed.phase, 'error', JSON.stringify(failed));
    assert.equal(await tagExists('no-robot'), false);
  });

  it('slipway build uploads a folder, follows the log live, and exits 0 only when the build completes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-cli-build-'));
    try {
      writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${server.host}/library/busybox:latest\nCOPY message.txt /message.txt\nRUN cat /message.txt\n`);
      writeFileSync(path.join(dir, 'message.txt'), 'copied-from-the-folder\n');
      const ok = await slipway(['build', dir, '--repo', 'acme/app', '-t', 'from-cli', '--server', server.url, '-u', ALICE.user, '-p', ALICE.password]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /==> building/, 'the phase is shown');
      assert.match(ok.stdout, /^copied-from-the-folder$/m, 'the RUN output is followed live');
      assert.match(ok.stdout, /: complete$/m);
      assert.equal(await tagExists('from-cli'), true);

      writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${server.host}/library/busybox:latest\nRUN exit 7\n`);
      const bad = await slipway(['build', dir, '--repo', 'acme/app', '-t', 'from-cli-broken', '--server', server.url, '-u', ALICE.user, '-p', ALICE.password]);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /: error$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with one worker, builds run one after another, and after a SIGKILL with one running and two waiting all three end complete', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await startBuild(`FROM ${server.host}/library/busybox:latest\nRUN echo serial-${i} && sleep 8\n`, { docker_tags: `serial-${i}` }));
    }
    await until('one build to run', async () => (await Promise.all(ids.map(view))).some((v) => v.phase === 'building'));
    const before = await Promise.all(ids.map(view));
    assert.equal(before.filter((v) => v.phase === 'waiting').length, 2, `one runs, two wait: ${before.map((v) => v.phase).join(', ')}`);
    await server.kill();
    await server.restart();
    const ends = await Promise.all(ids.map(finalView));
    assert.deepEqual(ends.map((v) => v.phase), ['complete', 'complete', 'complete'], ends.map((v) => `${v.phase}: ${v.error}`).join('\n'));
    // One worker: each build's last attempt started building only after the one before it ended.
    const spans = await Promise.all(ids.map(async (id) => {
      const lines = await logs(id);
      const start = lines.filter((l) => l.type === 'phase' && l.message === 'building').at(-1)!;
      const end = lines.filter((l) => l.type === 'phase' && l.message === 'complete').at(-1)!;
      return { start: Date.parse(start.datetime), end: Date.parse(end.datetime) };
    }));
    spans.sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]!.start >= spans[i - 1]!.end, `builds overlapped: ${JSON.stringify(spans)}`);
    for (let i = 0; i < 3; i++) assert.equal(await tagExists(`serial-${i}`), true);
  });
});

/** Runs the CLI as a user would; resolves with its exit code and output (never rejects on failure). */
function slipway(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'dist/src/main.js'), ...args], { timeout: 300_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
