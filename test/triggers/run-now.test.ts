// "Run trigger now" by branch or tag, resolved on a real git server (git daemon on a free port).
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, TEST_DB } from '../support/server.js';
import { API, startTriggerServer, waitFor, type Harness } from './trigger-harness.js';

const run = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com' };
const git = async (cwd: string, ...args: string[]) => (await run('git', args, { cwd, env: GIT_ENV })).stdout.trim();

describe(`run trigger now (${TEST_DB})`, function () {
  this.timeout(120_000);
  let h: Harness;
  let dir: string;
  let daemon: ChildProcess;
  let url: string;
  const shas: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-run-now-'));
    const work = path.join(dir, 'work');
    await run('git', ['init', '-q', '-b', 'main', work]);
    writeFileSync(path.join(work, 'Dockerfile'), 'FROM busybox\n');
    await git(work, 'add', '.');
    await git(work, 'commit', '-q', '-m', 'first');
    shas.v1 = await git(work, 'rev-parse', 'HEAD');
    await git(work, 'tag', '-a', 'v1', '-m', 'release 1');
    writeFileSync(path.join(work, 'README'), 'two\n');
    await git(work, 'add', '.');
    await git(work, 'commit', '-q', '-m', 'second');
    shas.main = await git(work, 'rev-parse', 'HEAD');
    await run('git', ['clone', '-q', '--bare', work, path.join(dir, 'srv', 'app.git')]);
    const port = await freePort();
    daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${path.join(dir, 'srv')}`, '--listen=127.0.0.1', `--port=${port}`, path.join(dir, 'srv')], { stdio: 'ignore' });
    url = `git://127.0.0.1:${port}/app.git`;
    await waitFor('git daemon to serve', async () => {
      try {
        await run('git', ['ls-remote', url]);
        return true;
      } catch {
        return false;
      }
    }, 20_000);
    h = await startTriggerServer();
  });
  after(async () => {
    await h?.stop();
    if (daemon?.pid) process.kill(daemon.pid, 'SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function trigger(): Promise<string> {
    const created = await h.req('POST', `${API}/trigger/`, { json: { service: 'gitlab', config: { build_source: url, tag_templates: ['${parsed_ref.branch}-${commit_info.short_sha}'] } } });
    const act = await h.req('POST', `${API}/trigger/${created.body.id}/activate`, { json: {} });
    assert.equal(act.status, 200, JSON.stringify(act.body));
    return created.body.id;
  }

  it('builds the head of a branch named by branch_name', async () => {
    const id = await trigger();
    const r = await h.req('POST', `${API}/trigger/${id}/start`, { json: { branch_name: 'main' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.trigger_metadata.commit, shas.main);
    assert.equal(r.body.trigger_metadata.ref, 'refs/heads/main');
    assert.deepEqual(r.body.tags, [`main-${shas.main!.slice(0, 7)}`, 'main']);
    assert.equal(r.body.manual_user, 'alice');
  });

  it('builds the commit an annotated tag points at, named by refs', async () => {
    const id = await trigger();
    const r = await h.req('POST', `${API}/trigger/${id}/start`, { json: { refs: { kind: 'tag', name: 'v1' } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.trigger_metadata.commit, shas.v1);
    assert.deepEqual(r.body.tags, ['v1']);
  });

  it('refuses a branch the server does not have, with 400 naming it', async () => {
    const id = await trigger();
    const r = await h.req('POST', `${API}/trigger/${id}/start`, { json: { branch_name: 'nope' } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.field, 'branch_name');
    assert.match(r.body.error_message, /refs\/heads\/nope/);
    assert.equal((await h.builds(id)).length, 0);
  });
});
