// The shipped post-receive hook (deploy/hooks/post-receive), run by real git in a real bare
// repository on every push, POSTing to a small local HTTP receiver: the payload's shape and
// escaping, several refs in one push, deletions skipped, and what the pusher is shown.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readdirSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import path from 'node:path';
import { createGitSandbox, GIT_AUTHOR, type GitSandbox } from '../support/git.js';
import { describeResult } from '../support/run-command.js';
import { freePort, REPO_ROOT } from '../support/server.js';

const HOOK = path.join(REPO_ROOT, 'deploy', 'hooks', 'post-receive');
const TRIGGER = '3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c';

interface Received { url: string; headers: IncomingHttpHeaders; body: string }
type Answer = (payload: Record<string, unknown>) => { status: number; body: unknown };

describe('the post-receive hook', function () {
  this.timeout(120_000);
  let sandbox: GitSandbox;
  let receiver: Server;
  let port: number;
  let received: Received[];
  let answer: Answer;

  before(async () => {
    sandbox = createGitSandbox();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ url: req.url ?? '', headers: req.headers, body });
        let reply: { status: number; body: unknown };
        try {
          reply = answer(JSON.parse(body) as Record<string, unknown>);
        } catch (err) {
          reply = { status: 400, body: { error_message: `not JSON: ${(err as Error).message}` } };
        }
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    port = (receiver.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => receiver?.close(r));
    sandbox?.dispose();
  });
  beforeEach(() => {
    received = [];
    answer = (p) => ({ status: 200, body: { status: 'queued', build_id: `build-${String(p.commit).slice(0, 7)}`, tags: ['main', 'latest'], commit: p.commit } });
  });

  const webhook = () => `http://$token:s3cret-XYZ@127.0.0.1:${port}/webhooks/push/trigger/${TRIGGER}`;

  /** A bare repository with the shipped hook, a working copy pushing to it, and optionally the webhook configured. */
  async function repo(name: string, configured = true): Promise<{ bare: string; work: string }> {
    const bare = await sandbox.bare(name);
    copyFileSync(HOOK, path.join(bare, 'hooks', 'post-receive'));
    chmodSync(path.join(bare, 'hooks', 'post-receive'), 0o755);
    if (configured) await sandbox.git(bare, ['config', 'slipway.webhook', webhook()]);
    const work = await sandbox.work(`${name}-work`, 'main', bare);
    return { bare, work };
  }

  async function push(work: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const r = await sandbox.run(work, ['push', '--porcelain', 'origin', ...args], env);
    assert.equal(r.code, 0, describeResult('git push', r));
    // What the hook printed reaches the pusher on stderr, as "remote: …" lines.
    return r.stderr.split('\n').filter((l) => l.startsWith('remote: slipway:')).map((l) => l.slice('remote: '.length).trim()).join('\n');
  }

  it('POSTs the custom git payload with the webhook credentials and shows the queued build', async () => {
    const { work } = await repo('one');
    const message = 'Fix "quotes", back\\slashes\tand tabs — ünïcödé\n\nA body line\nand another';
    const sha = await sandbox.commit(work, { Dockerfile: 'FROM scratch\n' }, message);
    const date = await sandbox.git(work, ['show', '-s', '--format=%cI', sha]);
    const shown = await push(work, ['main']);

    assert.equal(received.length, 1);
    const [req] = received;
    assert.equal(req!.url, `/webhooks/push/trigger/${TRIGGER}`);
    assert.equal(req!.headers['content-type'], 'application/json');
    assert.equal(req!.headers.authorization, `Basic ${Buffer.from('$token:s3cret-XYZ').toString('base64')}`);
    const avatar = `https://www.gravatar.com/avatar/${createHash('md5').update(GIT_AUTHOR.email).digest('hex')}?d=identicon`;
    const person = { username: GIT_AUTHOR.name, avatar_url: avatar, url: `mailto:${GIT_AUTHOR.email}` };
    assert.deepEqual(JSON.parse(req!.body), {
      commit: sha, ref: 'refs/heads/main', default_branch: 'main',
      commit_info: { url: '', message, date, author: person, committer: person },
    });
    assert.equal(shown, `slipway: main: build build-${sha.slice(0, 7)} queued (tags: main, latest)`);
  });

  it('posts each pushed branch and tag, peels annotated tags, and links commits when told how', async () => {
    const { bare, work } = await repo('many');
    await sandbox.git(bare, ['config', 'slipway.commitUrl', 'https://git.example.com/many/commit/%H']);
    const first = await sandbox.commit(work, { a: '1' }, 'first');
    await sandbox.git(work, ['tag', 'light']);
    await sandbox.git(work, ['tag', '-a', 'v1.0', '-m', 'release']);
    await sandbox.git(work, ['branch', 'feature']);
    const shown = await push(work, ['main', 'feature', 'light', 'v1.0']);

    const payloads = received.map((r) => JSON.parse(r.body) as { commit: string; ref: string; commit_info: { url: string } });
    assert.deepEqual(payloads.map((p) => p.ref).sort(), ['refs/heads/feature', 'refs/heads/main', 'refs/tags/light', 'refs/tags/v1.0']);
    for (const p of payloads) {
      assert.equal(p.commit, first, `${p.ref} posts the commit, not a tag object`);
      assert.equal(p.commit_info.url, `https://git.example.com/many/commit/${first}`);
    }
    assert.equal(shown.split('\n').length, 4, shown);
    assert.match(shown, /slipway: v1\.0: build build-\w+ queued/);
    // The hook works in the repository's folder: it must leave nothing of its own there.
    const gitOwn = ['HEAD', 'config', 'description', 'hooks', 'info', 'objects', 'refs', 'branches', 'packed-refs', 'logs'];
    assert.deepEqual(readdirSync(bare).filter((n) => !gitOwn.includes(n)), []);
  });

  it('posts nothing for a deleted branch or tag', async () => {
    const { work } = await repo('deletions');
    await sandbox.commit(work, { a: '1' }, 'first');
    await sandbox.git(work, ['tag', 'old']);
    await push(work, ['main', 'main:refs/heads/gone', 'old']);
    received = [];
    const shown = await push(work, [':refs/heads/gone', ':refs/tags/old']);
    assert.deepEqual(received, []);
    assert.equal(shown, '');
  });

  it('shows why a push was not built, and what a refusal said, without failing the push', async () => {
    const { work } = await repo('skips');
    await sandbox.commit(work, { a: '1' }, 'wip [skip build]');
    answer = () => ({ status: 200, body: { status: 'skipped', reason: 'the commit message asks to "skip build"' } });
    assert.equal(await push(work, ['main']), 'slipway: main: not built: the commit message asks to "skip build"');

    await sandbox.commit(work, { a: '2' }, 'second');
    answer = () => ({ status: 400, body: { status: 400, error_type: 'invalid_request', error_message: 'the build trigger is disabled (user_toggled); re-enable it to build again' } });
    assert.equal(await push(work, ['main']), 'slipway: main: the webhook refused the push (HTTP 400): the build trigger is disabled (user_toggled); re-enable it to build again');
  });

  it('uses SLIPWAY_WEBHOOK_URL when the repository names no webhook, and says when there is none', async () => {
    const { work } = await repo('from-env', false);
    await sandbox.commit(work, { a: '1' }, 'first');
    assert.match(await push(work, ['main'], { SLIPWAY_WEBHOOK_URL: webhook() }), /^slipway: main: build build-\w+ queued/);
    assert.equal(received.length, 1);

    await sandbox.commit(work, { a: '2' }, 'second');
    assert.match(await push(work, ['main']), /^slipway: no webhook configured \(git config slipway\.webhook, or SLIPWAY_WEBHOOK_URL\)/);
    assert.equal(received.length, 1);
  });

  it('posts to every configured webhook (one repository feeding several triggers)', async () => {
    const { bare, work } = await repo('fan-out');
    const second = webhook().replace(TRIGGER, '00000000-1111-4222-8333-444444444444');
    await sandbox.git(bare, ['config', '--add', 'slipway.webhook', second]);
    await sandbox.commit(work, { a: '1' }, 'first');
    const shown = await push(work, ['main']);
    assert.deepEqual(received.map((r) => r.url).sort(), [`/webhooks/push/trigger/00000000-1111-4222-8333-444444444444`, `/webhooks/push/trigger/${TRIGGER}`]);
    assert.equal(received[0]!.body, received[1]!.body);
    assert.equal(shown.split('\n').length, 2, shown);
  });

  it('tells the pusher when the webhook cannot be reached', async () => {
    const { bare, work } = await repo('unreachable');
    await sandbox.git(bare, ['config', 'slipway.webhook', `http://$token:x@127.0.0.1:${await freePort()}/webhooks/push/trigger/${TRIGGER}`]);
    await sandbox.commit(work, { a: '1' }, 'first');
    assert.match(await push(work, ['main']), /^slipway: main: the webhook could not be reached: curl: \(7\)/);
  });
});
