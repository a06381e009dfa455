// Fetching a triggered build's source with real git from bare repositories behind a real sshd:
// the deploy key (and a refused one), shallow fetches and the full-fetch fallback, submodules,
// context/dockerfile_path, the safety checks, unknown commits, network failures, abort, and
// resolving branches and tags with ls-remote.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import * as tar from 'tar';
import { createKeys } from '../../src/auth/secret-key.js';
import { BuildSourceError, type Build } from '../../buildman/build-model.js';
import { generateDeployKey } from '../../triggers/deploy-key.js';
import { createGitSourceFetcher, resolveRef, type GitSourceFetcher } from '../../triggers/git-source.js';
import { activateTrigger, createTrigger } from '../../triggers/trigger-store.js';
import { openTestDb, type TestDb } from '../buildman/test-db.js';
import { createGitSandbox, startGitHttp, type GitSandbox } from '../support/git.js';
import { freePort, TEST_DB } from '../support/server.js';
import { startSshd, type SshServer } from '../support/sshd.js';

const keys = createKeys('git-source-test-secret');

describe(`fetching git sources for builds (${TEST_DB})`, function () {
  this.timeout(180_000);
  let t: TestDb;
  let sshd: SshServer;
  let sandbox: GitSandbox;
  let workDir: string;
  let fetchSource: GitSourceFetcher;
  let logLines: Record<string, unknown>[];
  let trigger: string;
  let refusedTrigger: string;
  let privateKey: string;
  let appUrl: string;
  let work: string;
  const commits: Record<string, string> = {};

  async function newTrigger(authorized: boolean): Promise<{ uuid: string; privateKey: string }> {
    const acct = await t.db('accounts').where({ name: 'alice' }).first();
    const created = await createTrigger(t.db, { repositoryId: t.repositoryId, service: 'custom-git', config: { build_source: appUrl }, connectedUserId: Number(acct.id), pullRobotId: null });
    const key = await generateDeployKey(`slipway trigger ${created.uuid}`);
    if (authorized) sshd.authorize(key.publicKey);
    await activateTrigger(t.db, keys, created.uuid, { config: { build_source: appUrl }, connectedUserId: Number(acct.id), pullRobotId: null, secret: 's3cret', deployKey: key });
    return { uuid: created.uuid, privateKey: key.privateKey };
  }

  function build(commit: string, over: Partial<Build> & { url?: string; triggerId?: string } = {}): Build {
    const { url, triggerId, ...rest } = over;
    return {
      uuid: `b-${randomBytes(4).toString('hex')}`, repositoryId: t.repositoryId, namespace: 'alice', repository: 'app', phase: 'build-scheduled', tags: [],
      displayName: commit.slice(0, 7), source: { kind: 'git', url: url ?? appUrl, commit, ref: 'refs/heads/main', triggerId: triggerId ?? trigger },
      trigger: null, manualUser: 'alice', pullRobot: null, dockerfilePath: 'Dockerfile', context: '/', buildArgs: {}, error: null, imageId: null,
      manifestDigests: [], startedAt: Date.now(), updatedAt: Date.now(), completedAt: null, ...rest,
    };
  }

  /** Path → content of every file in the context tar. */
  async function contents(tarPath: string): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    await tar.list({
      file: tarPath,
      onReadEntry(entry) {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          if (entry.type === 'File') files.set(entry.path.replace(/^\.\//, ''), Buffer.concat(chunks).toString('utf8'));
        });
      },
    });
    return files;
  }

  const fetched = () => logLines.filter((l) => l.msg === 'fetched the git source');

  before(async () => {
    t = await openTestDb();
    sshd = await startSshd();
    sandbox = createGitSandbox();
    workDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-git-work-'));
    logLines = [];
    const log = pino({ level: 'debug' }, { write: (s: string) => void logLines.push(JSON.parse(s)) });
    fetchSource = createGitSourceFetcher({ db: t.db, keys, workDir, log });

    const bare = await sandbox.bare('app');
    appUrl = sshd.url(bare);
    ({ uuid: trigger, privateKey } = await newTrigger(true));
    ({ uuid: refusedTrigger } = await newTrigger(false));

    work = await sandbox.work('app-work', 'main', bare);
    commits.first = await sandbox.commit(work, { Dockerfile: 'FROM scratch\nCOPY version /\n', version: 'one\n' }, 'first');
    commits.second = await sandbox.commit(work, {
      Dockerfile: 'FROM scratch\nCOPY version /\n', version: 'two\n',
      'sub/Dockerfile.custom': 'FROM scratch\nCOPY inner /\n', 'sub/inner': 'inner file\n', 'nodocker/readme': 'no Dockerfile here\n',
    }, 'second');
    await sandbox.git(work, ['push', '--quiet', 'origin', 'main']);
    await sandbox.git(work, ['tag', '-a', 'v1', '-m', 'release one', commits.first]);
    await sandbox.git(work, ['push', '--quiet', 'origin', 'v1']);
  });
  after(async () => {
    await sshd?.stop();
    sandbox?.dispose();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    await t?.close();
  });
  afterEach(() => {
    // Every fetch, whatever its outcome, leaves nothing behind but the tars it returned (removed by each test).
    assert.deepEqual(readdirSync(workDir), []);
  });

  it('fetches the pushed commit over ssh with the deploy key, shallow, without .git', async () => {
    logLines.length = 0;
    const tarPath = await fetchSource(build(commits.second), new AbortController().signal);
    const files = await contents(tarPath);
    rmSync(tarPath);
    assert.equal(files.get('version'), 'two\n');
    assert.equal(files.get('sub/inner'), 'inner file\n');
    assert.ok(![...files.keys()].some((f) => f.split('/').includes('.git')), `no git metadata: ${[...files.keys()]}`);
    assert.deepEqual(fetched().map((l) => l.shallow), [true]);
    assert.match(sshd.output(), /Accepted publickey for/);
  });

  it('falls back to a full fetch for a commit the server will not serve by SHA', async () => {
    // Over SSH without protocol v2 (the sshd passes no GIT_PROTOCOL), git serves only branch and tag tips by SHA.
    logLines.length = 0;
    const tarPath = await fetchSource(build(commits.first), new AbortController().signal);
    const files = await contents(tarPath);
    rmSync(tarPath);
    assert.equal(files.get('version'), 'one\n');
    assert.equal(files.has('sub/inner'), false);
    assert.deepEqual(fetched().map((l) => l.shallow), [false]);
  });

  it('accepts a short SHA, as custom git payloads may send', async () => {
    const tarPath = await fetchSource(build(commits.first.slice(0, 10)), new AbortController().signal);
    assert.equal((await contents(tarPath)).get('version'), 'one\n');
    rmSync(tarPath);
  });

  it('applies context and dockerfile_path inside the commit', async () => {
    const tarPath = await fetchSource(build(commits.second, { context: '/sub', dockerfilePath: 'Dockerfile.custom' }), new AbortController().signal);
    const files = await contents(tarPath);
    rmSync(tarPath);
    assert.deepEqual([...files.keys()].sort(), ['Dockerfile.custom', 'inner']);
  });

  it('ends the build as the source\'s fault when the Dockerfile or the context is missing', async () => {
    await assert.rejects(fetchSource(build(commits.second, { context: '/nodocker' }), new AbortController().signal), (err: Error) => {
      assert.ok(err instanceof BuildSourceError, String(err));
      assert.match(err.message, /holds no Dockerfile at \/nodocker\/Dockerfile/);
      return true;
    });
    await assert.rejects(fetchSource(build(commits.second, { context: '/missing' }), new AbortController().signal), (err: Error) => {
      assert.ok(err instanceof BuildSourceError, String(err));
      assert.match(err.message, /has no folder missing/);
      return true;
    });
  });

  it('refuses a context reached through a link that leaves the checkout, and links out inside the context', async () => {
    const evil = await sandbox.work('evil-work', 'main', (await sandbox.bare('evil')));
    symlinkSync('/etc', path.join(evil, 'ctx'));
    symlinkSync('/etc/passwd', path.join(evil, 'passwd'));
    const sha = await sandbox.commit(evil, { Dockerfile: 'FROM scratch\n' }, 'links out');
    await sandbox.git(evil, ['push', '--quiet', 'origin', 'main']);
    const url = sshd.url(path.join(sandbox.root, 'evil.git'));
    await assert.rejects(fetchSource(build(sha, { url, context: '/ctx', dockerfilePath: 'hostname' }), new AbortController().signal), (err: Error) => {
      assert.ok(err instanceof BuildSourceError, String(err));
      assert.match(err.message, /link leading out/);
      return true;
    });
    await assert.rejects(fetchSource(build(sha, { url }), new AbortController().signal), (err: Error) => {
      assert.ok(err instanceof BuildSourceError, String(err));
      assert.match(err.message, /link pointing outside the context \((passwd -> \/etc\/passwd|ctx -> \/etc)\)/);
      return true;
    });
  });

  it('fetches submodules over ssh with the same deploy key', async () => {
    const libBare = await sandbox.bare('lib');
    const lib = await sandbox.work('lib-work', 'main', libBare);
    await sandbox.commit(lib, { 'lib.txt': 'from the submodule\n' }, 'lib');
    await sandbox.git(lib, ['push', '--quiet', 'origin', 'main']);
    const withSub = await sandbox.work('with-sub', 'main', await sandbox.bare('with-sub'));
    await sandbox.git(withSub, ['-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', libBare, 'vendor/lib']);
    await sandbox.git(withSub, ['config', '-f', '.gitmodules', 'submodule.vendor/lib.url', sshd.url(libBare)]);
    const sha = await sandbox.commit(withSub, { Dockerfile: 'FROM scratch\nCOPY vendor /vendor\n' }, 'with a submodule');
    await sandbox.git(withSub, ['push', '--quiet', 'origin', 'main']);
    const tarPath = await fetchSource(build(sha, { url: sshd.url(path.join(sandbox.root, 'with-sub.git')) }), new AbortController().signal);
    const files = await contents(tarPath);
    rmSync(tarPath);
    assert.equal(files.get('vendor/lib/lib.txt'), 'from the submodule\n');
    assert.ok(![...files.keys()].some((f) => f.split('/').includes('.git')), `no git metadata: ${[...files.keys()]}`);
  });

  it('refuses a submodule that points at the server\'s own disk', async () => {
    const libBare = path.join(sandbox.root, 'lib.git');
    const sneaky = await sandbox.work('sneaky', 'main', await sandbox.bare('sneaky'));
    await sandbox.git(sneaky, ['-c', 'protocol.file.allow=always', 'submodule', 'add', '--quiet', libBare, 'stolen']);
    const sha = await sandbox.commit(sneaky, { Dockerfile: 'FROM scratch\n' }, 'file:// submodule');
    await sandbox.git(sneaky, ['push', '--quiet', 'origin', 'main']);
    await assert.rejects(fetchSource(build(sha, { url: sshd.url(path.join(sandbox.root, 'sneaky.git')) }), new AbortController().signal), (err: Error) => {
      assert.ok(err instanceof BuildSourceError, String(err));
      assert.match(err.message, /only ssh, https, http and git URLs/);
      return true;
    });
  });

  it('ends the build as the source\'s fault for an unknown commit', async () => {
    const unknown = randomBytes(20).toString('hex');
    await assert.rejects(fetchSource(build(unknown), new AbortController().signal), (err: Error) => {
      assert.ok(err instanceof BuildSourceError, String(err));
      assert.match(err.message, new RegExp(`commit ${unknown} is not in`));
      return true;
    });
  });

  it('ends the build as the source\'s fault when the server refuses the deploy key', async () => {
    await assert.rejects(fetchSource(build(commits.second, { triggerId: refusedTrigger }), new AbortController().signal), (err: Error) => {
      assert.ok(err instanceof BuildSourceError, String(err));
      assert.match(err.message, /refused the trigger's deploy key/);
      return true;
    });
  });

  it('refuses an ssh source for a trigger without a deploy key, and a malformed commit', async () => {
    await assert.rejects(fetchSource(build(commits.second, { triggerId: '00000000-0000-4000-8000-000000000000' }), new AbortController().signal), BuildSourceError);
    await assert.rejects(fetchSource(build('main; rm -rf /'), new AbortController().signal), /is not a commit SHA/);
    await assert.rejects(fetchSource(build(commits.second, { url: '--upload-pack=touch /tmp/pwned' }), new AbortController().signal), /is not a clone URL/);
  });

  it('reports an unreachable server as a plain error, to be retried', async () => {
    const port = await freePort();
    await assert.rejects(fetchSource(build(commits.second, { url: `ssh://${sshd.user}@127.0.0.1:${port}/nowhere.git` }), new AbortController().signal), (err: Error) => {
      assert.ok(!(err instanceof BuildSourceError), `a network failure is not the source's fault: ${err}`);
      assert.match(err.message, /Connection refused/);
      return true;
    });
  });

  it('stops when aborted, and cleans up', async () => {
    // A server that accepts the connection and never speaks: git waits until aborted.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    try {
      const controller = new AbortController();
      const pending = fetchSource(build(commits.second, { url: `ssh://${sshd.user}@127.0.0.1:${port}/app.git` }), controller.signal);
      // Abort once git has connected, so the abort lands mid-fetch.
      for (let i = 0; i < 600 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(sockets.length > 0, 'git connected to the silent server');
      controller.abort();
      await assert.rejects(pending, (err: Error) => {
        assert.ok(!(err instanceof BuildSourceError), String(err));
        assert.match(err.message, /aborted/);
        return true;
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('fetches over http without a key, shallow by SHA even for an older commit (protocol v2)', async () => {
    const http = await startGitHttp(sandbox.root);
    try {
      logLines.length = 0;
      const tarPath = await fetchSource(build(commits.first, { url: `${http.url}/app.git` }), new AbortController().signal);
      assert.equal((await contents(tarPath)).get('version'), 'one\n');
      rmSync(tarPath);
      assert.deepEqual(fetched().map((l) => l.shallow), [true]);
      assert.ok(http.requests.some((r) => r.startsWith('POST /app.git/git-upload-pack')), http.requests.join('\n'));
    } finally {
      await http.stop();
    }
  });

  it('uses a token in an https URL, ends the build as the source\'s fault without one, and never shows it', async () => {
    const http = await startGitHttp(sandbox.root, 'read-token-123');
    try {
      const withToken = `${http.url.replace('://', '://git:read-token-123@')}/app.git`;
      const tarPath = await fetchSource(build(commits.second, { url: withToken }), new AbortController().signal);
      assert.equal((await contents(tarPath)).get('version'), 'two\n');
      rmSync(tarPath);
      await assert.rejects(fetchSource(build(commits.second, { url: `${http.url}/app.git` }), new AbortController().signal), (err: Error) => {
        assert.ok(err instanceof BuildSourceError, String(err));
        assert.match(err.message, /the git server wants credentials/);
        return true;
      });
      const wrong = `${http.url.replace('://', '://git:wrong-secret-456@')}/app.git`;
      await assert.rejects(fetchSource(build(commits.second, { url: wrong }), new AbortController().signal), (err: Error) => {
        assert.ok(err instanceof BuildSourceError, String(err));
        assert.match(err.message, /the git server wants credentials/);
        assert.doesNotMatch(err.message, /wrong-secret-456/);
        return true;
      });
      assert.ok(!JSON.stringify(logLines).includes('read-token-123'), 'the token is not logged');
    } finally {
      await http.stop();
    }
  });

  it('checks the host key against a pinned known_hosts file when one is configured', async () => {
    const pinnedDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-known-hosts-'));
    try {
      const good = path.join(pinnedDir, 'good');
      writeFileSync(good, `${sshd.knownHostsLine}\n`);
      const pinned = createGitSourceFetcher({ db: t.db, keys, workDir, log: pino({ level: 'silent' }), knownHostsFile: good });
      const tarPath = await pinned(build(commits.second), new AbortController().signal);
      rmSync(tarPath);

      const other = await generateDeployKey('some other host');
      const wrong = path.join(pinnedDir, 'wrong');
      writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ${other.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
      const mismatched = createGitSourceFetcher({ db: t.db, keys, workDir, log: pino({ level: 'silent' }), knownHostsFile: wrong });
      await assert.rejects(mismatched(build(commits.second), new AbortController().signal), (err: Error) => {
        assert.ok(!(err instanceof BuildSourceError), `a host key mismatch is the operator's to fix, not the commit's: ${err}`);
        assert.match(err.message, /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
        return true;
      });
    } finally {
      rmSync(pinnedDir, { recursive: true, force: true });
    }
  });

  describe('resolveRef', () => {
    it('resolves a branch, a full ref and an annotated tag to commits', async () => {
      assert.equal(await resolveRef({ url: appUrl, ref: 'main', privateKey }), commits.second);
      assert.equal(await resolveRef({ url: appUrl, ref: 'refs/heads/main', privateKey }), commits.second);
      assert.equal(await resolveRef({ url: appUrl, ref: 'v1', privateKey }), commits.first);
      assert.equal(await resolveRef({ url: appUrl, ref: 'refs/tags/v1', privateKey }), commits.first);
    });

    it('refuses unknown refs, bad names, and a server that refuses the key', async () => {
      await assert.rejects(resolveRef({ url: appUrl, ref: 'nope', privateKey }), (err: Error) => err instanceof BuildSourceError && /has no branch or tag nope/.test(err.message));
      await assert.rejects(resolveRef({ url: appUrl, ref: '--exec=evil', privateKey }), /is not a branch or tag name/);
      const other = await generateDeployKey('not installed');
      await assert.rejects(resolveRef({ url: appUrl, ref: 'main', privateKey: other.privateKey }), (err: Error) => err instanceof BuildSourceError && /refused/.test(err.message));
    });
  });
});
