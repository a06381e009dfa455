// Issue 5, real git end to end: a custom-git trigger made and activated through the API; a bare
// repository behind a real sshd (the trigger's deploy key in authorized_keys) with the shipped
// post-receive hook; `git push` over SSH builds the commit in a real Podman API service, the tags
// follow the templates, a robot pulls them; [skip build] and a branch outside branchtag_regex
// build nothing, and the pusher is told so.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { mustSucceed, type Clients } from '../support/clients.js';
import { ALICE, enableBuilds, seedBuildWorld } from '../support/build-world.js';
import { waitFor } from '../support/wait.js';
import { createGitSandbox, type GitSandbox } from '../support/git.js';
import type { PodmanService } from '../support/podman-service.js';
import { describeResult } from '../support/run-command.js';
import { basic, REPO_ROOT, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { startSshd, type SshServer } from '../support/sshd.js';
import { generateDeployKey } from '../../triggers/deploy-key.js';

const AUTH = { authorization: basic(ALICE.user, ALICE.password), 'content-type': 'application/json' };
const FINAL = ['complete', 'error', 'internalerror', 'cancelled', 'expired'];
const HOOK = path.join(REPO_ROOT, 'deploy', 'hooks', 'post-receive');

interface BuildView { id: string; phase: string; error: string | null; tags: string[]; manifest_digests: string[]; trigger: { id: string; service: string } | null; trigger_metadata: Record<string, unknown> | null }

describe(`git push to a custom-git trigger builds with Podman (${TEST_DB})`, function () {
  this.timeout(900_000);
  let server: TestServer;
  let service: PodmanService;
  let clients: Clients;
  let sshd: SshServer;
  let sandbox: GitSandbox;
  let readerToken = '';
  let triggerId = '';
  let work = '';
  let pusherSsh = '';
  const api = '/api/v1/repository/acme/app';

  async function call<T>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${server.url}${api}/${route}`, { method, headers: AUTH, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as T };
  }
  const until = <T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 600_000) => waitFor(what, fn, ms, 250);
  /** Pushes over SSH as a developer would; resolves with what the hook told the pusher. */
  async function push(...refspecs: string[]): Promise<string> {
    const r = await sandbox.run(work, ['push', 'origin', ...refspecs], { GIT_SSH_COMMAND: pusherSsh });
    assert.equal(r.code, 0, describeResult('git push', r));
    return r.stderr.split('\n').filter((l) => l.startsWith('remote: slipway:')).map((l) => l.slice('remote: '.length).trim()).join('\n');
  }
  const triggerBuilds = async () => (await call<{ builds: BuildView[] }>('GET', `trigger/${triggerId}/builds?limit=100`)).body.builds;

  before(async () => {
    server = await startServer();
    ({ clients, readerToken } = await seedBuildWorld(server));
    service = await enableBuilds(server);

    sshd = await startSshd();
    sandbox = createGitSandbox();
    const bare = await sandbox.bare('app');
    copyFileSync(HOOK, path.join(bare, 'hooks', 'post-receive'));
    chmodSync(path.join(bare, 'hooks', 'post-receive'), 0o755);
    // The developer pushing has a key of their own; the trigger's deploy key only reads.
    const developer = await generateDeployKey('developer');
    sshd.authorize(developer.publicKey);
    pusherSsh = sandbox.sshCommand(developer.privateKey, sshd.knownHostsLine);
    work = await sandbox.work('app-work', 'main', sshd.url(bare));

    const config = {
      build_source: sshd.url(bare),
      dockerfile_path: '/image/Dockerfile',
      context: '/image',
      branchtag_regex: 'heads/(main|release-.+)',
      tag_templates: ['sha-${commit_info.short_sha}', '${parsed_ref.branch}-build'],
      default_tag_from_ref: true,
      latest_for_default_branch: true,
    };
    const created = await call<{ id: string; is_active: boolean }>('POST', 'trigger/', { service: 'custom-git', config });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.is_active, false);
    triggerId = created.body.id;
    const activated = await call<{ webhook_url: string; public_key: string; is_active: boolean }>('POST', `trigger/${triggerId}/activate`, { config });
    assert.equal(activated.status, 200, JSON.stringify(activated.body));
    assert.equal(activated.body.is_active, true);
    assert.match(activated.body.public_key, /^ssh-ed25519 /);
    assert.match(activated.body.webhook_url, new RegExp(`^http://\\$token:[^@]+@${server.host.replace(/\./g, '\\.')}/webhooks/push/trigger/${triggerId}$`));
    // What the user does with the credentials: the key on the git server, the URL in the repository.
    sshd.authorize(activated.body.public_key);
    await sandbox.git(bare, ['config', 'slipway.webhook', activated.body.webhook_url]);
  });
  after(async () => {
    await sshd?.stop();
    await service?.stop();
    clients?.dispose();
    sandbox?.dispose();
    await server?.stop();
  });

  it('builds a pushed commit, tagged by the templates, and a robot pulls every tag', async () => {
    const sha = await sandbox.commit(work, {
      'image/Dockerfile': `FROM ${server.host}/library/busybox:latest\nCOPY greeting /greeting\nRUN cat /greeting\nLABEL org.example.source=git-trigger\n`,
      'image/greeting': 'hello from git\n',
      'README.md': 'outside the context\n',
    }, 'First image');
    const shown = await push('main');
    const queued = /^slipway: main: build ([0-9a-f-]{36}) queued \(tags: (.+)\)$/.exec(shown);
    assert.ok(queued, `the pusher is told which build was queued: ${JSON.stringify(shown)}`);
    const buildId = queued[1]!;

    const done = await until(`build ${buildId} to end`, async () => {
      const v = (await call<BuildView>('GET', `build/${buildId}`)).body;
      return FINAL.includes(v.phase) ? v : null;
    });
    assert.equal(done.phase, 'complete', `build ended ${done.phase}: ${done.error}`);
    const expected = [`sha-${sha.slice(0, 7)}`, 'main-build', 'main', 'latest'];
    assert.deepEqual([...done.tags].sort(), [...expected].sort());
    assert.deepEqual(queued[2]!.split(', ').sort(), [...expected].sort());
    assert.deepEqual(done.trigger, { id: triggerId, service: 'custom-git' });
    assert.equal(done.trigger_metadata?.commit, sha);
    assert.equal(done.trigger_metadata?.ref, 'refs/heads/main');
    assert.equal(done.manifest_digests.length, 1);

    for (const tag of expected) {
      const inspect = mustSucceed(`the robot inspects ${tag}`, await clients.skopeo([
        'inspect', '--tls-verify=false', '--creds', `acme+reader:${readerToken}`, `docker://${server.host}/acme/app:${tag}`,
      ]));
      const image = JSON.parse(inspect.stdout) as { Digest: string; Labels: Record<string, string> | null };
      assert.equal(image.Digest, done.manifest_digests[0], `${tag} names the built manifest`);
      assert.equal(image.Labels?.['org.example.source'], 'git-trigger');
    }
    // The file came from the commit's context folder.
    const logs = (await call<{ logs: { message: string }[] }>('GET', `build/${buildId}/logs?start=0`)).body.logs;
    assert.ok(logs.some((l) => l.message.includes('hello from git')), 'RUN cat printed the file from the commit');
    assert.match(sshd.output(), /Accepted publickey for/);
  });

  it('builds nothing for a commit saying [skip build], and tells the pusher', async () => {
    const before = (await triggerBuilds()).length;
    await sandbox.commit(work, { 'image/greeting': 'not this one\n' }, 'Typo fix [skip build]');
    const shown = await push('main');
    assert.match(shown, /^slipway: main: not built: .*skip build/i);
    assert.equal((await triggerBuilds()).length, before);
  });

  it('builds nothing for a branch outside branchtag_regex, and tells the pusher', async () => {
    const before = (await triggerBuilds()).length;
    await sandbox.git(work, ['checkout', '--quiet', '-b', 'feature/x']);
    await sandbox.commit(work, { 'image/greeting': 'feature work\n' }, 'Feature work');
    const shown = await push('feature/x');
    assert.match(shown, /^slipway: feature\/x: not built: .*branchtag_regex/i);
    assert.equal((await triggerBuilds()).length, before);
  });

  it('a pushed commit without the Dockerfile ends its build `error`, saying so', async () => {
    await sandbox.git(work, ['checkout', '--quiet', '-b', 'release-1', 'main']);
    await sandbox.git(work, ['rm', '--quiet', 'image/Dockerfile']);
    const sha = await sandbox.commit(work, {}, 'Dockerfile gone');
    const shown = await push('release-1');
    const queued = /^slipway: release-1: build ([0-9a-f-]{36}) queued/.exec(shown);
    assert.ok(queued, `queued: ${JSON.stringify(shown)}`);
    const done = await until(`build ${queued[1]} to end`, async () => {
      const v = (await call<BuildView>('GET', `build/${queued[1]}`)).body;
      return FINAL.includes(v.phase) ? v : null;
    });
    // The source's fault: not retried, and the message names what is missing.
    assert.equal(done.phase, 'error', JSON.stringify(done));
    assert.equal(done.trigger_metadata?.commit, sha);
    assert.match(done.error ?? '', /holds no Dockerfile at \/image\/Dockerfile/);
  });

  it('"run now" on a branch resolves its head over SSH with the deploy key and builds it', async () => {
    const head = await sandbox.git(work, ['rev-parse', 'main']);
    const started = await call<BuildView>('POST', `trigger/${triggerId}/start`, { branch_name: 'main' });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal(started.body.trigger_metadata?.commit, head);
    const done = await until(`build ${started.body.id} to end`, async () => {
      const v = (await call<BuildView>('GET', `build/${started.body.id}`)).body;
      return FINAL.includes(v.phase) ? v : null;
    });
    // A manual run is not subject to [skip build]: the user asked for it.
    assert.equal(done.phase, 'complete', `build ended ${done.phase}: ${done.error}`);
    assert.ok(done.tags.includes(`sha-${head.slice(0, 7)}`), done.tags.join(', '));

    const missing = await call<{ error_message: string }>('POST', `trigger/${triggerId}/start`, { branch_name: 'no-such-branch' });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error_message, /has no branch or tag refs\/heads\/no-such-branch/);
  });
});
