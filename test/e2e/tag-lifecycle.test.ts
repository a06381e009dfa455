// The tag lifecycle with real clients: skopeo pushes tags built by buildah; one is deleted and
// restored from history, one is moved and restored to its old manifest, and one expires through
// its `quay.expires-after` label, vanishes from `skopeo list-tags`, and is restored inside the
// time machine window.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { call } from '../api/account-api.js';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { readLayoutImage, sha256, type LayoutImage } from '../support/oci-layout.js';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';

const ALICE = { user: 'alice', password: 'alice-password-1' };
const CREDS = `${ALICE.user}:${ALICE.password}`;
const REPO = 'alice/lifecycle';

describe(`tag lifecycle with skopeo and buildah (${TEST_DB})`, function () {
  this.timeout(600_000);
  let server: TestServer;
  let c: Clients;
  const images = new Map<string, LayoutImage>();

  /** Builds `FROM base` plus the Dockerfile lines into an OCI layout; no step runs a container. */
  async function buildImage(name: string, base: string, lines: string[]): Promise<LayoutImage> {
    const ctx = path.join(c.dir, 'ctx', name);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(path.join(ctx, 'Dockerfile'), [`FROM ${base}`, ...lines, ''].join('\n'));
    const local = `localhost/slipway-test/${name}:latest`;
    mustSucceed(`buildah bud ${name}`, await c.buildah(['bud', '--isolation', 'chroot', '--storage-driver', 'vfs', '--pull=false', '-t', local, ctx], { timeoutMs: 180_000 }));
    const dir = path.join(c.dir, 'layouts', name);
    mkdirSync(path.dirname(dir), { recursive: true });
    mustSucceed(`buildah push ${name}`, await c.buildah(['push', local, `oci:${dir}:latest`]));
    return readLayoutImage(dir, 'latest');
  }

  const remote = (tag: string) => `docker://${server.host}/${REPO}:${tag}`;
  const push = async (image: LayoutImage, tag: string) => mustSucceed(`skopeo copy to ${tag}`, await c.skopeo(['copy', '--dest-creds', CREDS, image.ref, remote(tag)]));
  const listTags = async (): Promise<string[]> =>
    JSON.parse(mustSucceed('skopeo list-tags', await c.skopeo(['list-tags', '--creds', CREDS, `docker://${server.host}/${REPO}`])).stdout).Tags ?? [];
  /** The digest skopeo reads for the tag: the manifest bytes it fetched, hashed. */
  const digestOf = async (tag: string) => sha256(mustSucceed(`skopeo inspect ${tag}`, await c.skopeo(['inspect', '--raw', '--creds', CREDS, remote(tag)])).stdout);
  const restore = async (tag: string, digest: string) => {
    const res = await call(server, ALICE, 'POST', `/repository/${REPO}/tag/${tag}/restore`, { manifest_digest: digest });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };

  before(async () => {
    server = await startServer();
    await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
    c = createClients([server.host]);
    const base = await c.makeBaseImage();
    images.set('one', await buildImage('one', base, ['LABEL release=one']));
    images.set('two', await buildImage('two', base, ['LABEL release=two']));
    images.set('expiring', await buildImage('expiring', base, ['LABEL quay.expires-after=2s', 'LABEL release=temporary']));
  });
  after(async () => {
    c?.dispose();
    await server?.stop();
  });

  it('restores a deleted tag from history', async () => {
    const one = images.get('one')!;
    await push(one, 'deleted');
    assert.ok((await listTags()).includes('deleted'));
    assert.equal((await call(server, ALICE, 'DELETE', `/repository/${REPO}/tag/deleted`)).status, 204);
    assert.ok(!(await listTags()).includes('deleted'), 'a deleted tag is not listed');
    const pull = await c.skopeo(['inspect', '--raw', '--creds', CREDS, remote('deleted')]);
    assert.notEqual(pull.code, 0, 'nor can it be pulled');

    await restore('deleted', one.manifestDigest);
    assert.ok((await listTags()).includes('deleted'));
    assert.equal(await digestOf('deleted'), one.manifestDigest);
  });

  it('restores a moved tag to its old manifest', async () => {
    const [one, two] = [images.get('one')!, images.get('two')!];
    await push(one, 'moved');
    await push(two, 'moved');
    assert.equal(await digestOf('moved'), two.manifestDigest);
    await restore('moved', one.manifestDigest);
    assert.equal(await digestOf('moved'), one.manifestDigest);
    const [current] = (await call(server, ALICE, 'GET', `/repository/${REPO}/tag/?specificTag=moved`)).body.tags;
    assert.equal(current.reversion, true);
    assert.equal(current.manifest_digest, one.manifestDigest);
  });

  it('expires a tag through its quay.expires-after label, then restores it inside the window', async () => {
    const expiring = images.get('expiring')!;
    await push(expiring, 'temp');
    const [pushed] = (await call(server, ALICE, 'GET', `/repository/${REPO}/tag/?specificTag=temp`)).body.tags;
    assert.equal(pushed.manifest_digest, expiring.manifestDigest);
    assert.ok(pushed.end_ts - pushed.start_ts >= 1 && pushed.end_ts - pushed.start_ts <= 3, `the label sets a two-second life: ${JSON.stringify(pushed)}`);
    const labels = (await call(server, ALICE, 'GET', `/repository/${REPO}/manifest/${expiring.manifestDigest}/labels`)).body.labels as { key: string; value: string; source_type: string }[];
    const label = labels.find((l) => l.key === 'quay.expires-after');
    assert.equal(label?.value, '2s', JSON.stringify(labels));
    assert.equal(label?.source_type, 'manifest');

    // Generous: the outcome is checked, never how long it took.
    const deadline = Date.now() + 120_000;
    while ((await listTags()).includes('temp')) {
      if (Date.now() > deadline) assert.fail('temp is still listed long after its expiration');
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.notEqual((await c.skopeo(['inspect', '--raw', '--creds', CREDS, remote('temp')])).code, 0, 'an expired tag cannot be pulled');
    assert.ok((await listTags()).includes('deleted'), 'other tags stay');

    await restore('temp', expiring.manifestDigest);
    assert.ok((await listTags()).includes('temp'));
    assert.equal(await digestOf('temp'), expiring.manifestDigest);
  });
});
