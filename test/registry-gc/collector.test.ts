// Garbage collection against a real server, with skopeo pushing: what a pass deletes, down to the
// files under the server's storage, and what it must keep.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { sha256 } from '../support/oci-layout.js';
import { basic, registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { parseSummary } from './gc-cli.js';
import { layerOf, randomLayer, storedBlobPath, writeTinyImage, type TinyImage } from './tiny-layout.js';

const ALICE = { user: 'alice', password: 'alice-password-1' };
const CREDS = `${ALICE.user}:${ALICE.password}`;

async function setWindow(server: TestServer, org: string, seconds: number): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/organization/${org}`, {
    method: 'PUT', headers: { authorization: basic(ALICE.user, ALICE.password), 'content-type': 'application/json' },
    body: JSON.stringify({ tag_expiration_s: seconds }),
  });
  assert.equal(res.status, 200, await res.text());
}

describe(`garbage collection with skopeo (${TEST_DB})`, function () {
  this.timeout(300_000);
  let server: TestServer;
  let c: Clients;

  before(async () => {
    // Grace 0: this suite pushes nothing while it collects. The background worker stays off so
    // only the passes run here change anything.
    server = await startServer({ config: { GC_GRACE_SECONDS: 0, FEATURE_GARBAGE_COLLECTION: false } });
    await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
    await server.cli('admin', 'create-org', 'acme', '--owner', ALICE.user);
    c = createClients([server.host]);
  });
  after(async () => {
    c?.dispose();
    await server?.stop();
  });

  const push = async (image: TinyImage, dest: string) =>
    mustSucceed(`skopeo copy to ${dest}`, await c.skopeo(['copy', '--dest-creds', CREDS, image.ref, `docker://${server.host}/${dest}`]));
  const stored = (digest: string) => existsSync(storedBlobPath(server.dataDir, digest));

  it('keeps what the time machine holds, then frees exactly the unreferenced blobs and keeps every shared one', async () => {
    const base = layerOf('etc/base.txt', Buffer.from('the shared base layer\n'));
    const a = writeTinyImage(path.join(c.dir, 'a'), 'a', [base, randomLayer(64 * 1024)]);
    const b = writeTinyImage(path.join(c.dir, 'b'), 'b', [base, randomLayer(32 * 1024)]);
    const k = writeTinyImage(path.join(c.dir, 'k'), 'k', [base, randomLayer(16 * 1024)]);
    await push(a, 'acme/app:a');
    await push(b, 'acme/app:b');
    await push(k, 'acme/keep:k');
    for (const blob of [...a.blobs, ...b.blobs, ...k.blobs]) assert.ok(stored(blob.digest), `${blob.digest} was stored`);

    const token = await registryToken(server, ALICE, 'repository:acme/app:pull,push,delete');
    const del = await fetch(`${server.url}/v2/acme/app/manifests/a`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(del.status, 202, await del.text());

    // Inside the two-week window the deleted tag still holds its manifest and blobs.
    const held = parseSummary(await server.cli('admin', 'gc'));
    assert.deepEqual(held, { tags: 0, manifests: 0, links: 0, blobs: 0, bytesFreed: 0 });
    for (const blob of a.blobs) assert.ok(stored(blob.digest), `${blob.digest} survives inside the window`);

    await setWindow(server, 'acme', 0);
    const gone = a.blobs.filter((blob) => blob.digest !== base.blob.digest);
    const summary = parseSummary(await server.cli('admin', 'gc'));
    assert.deepEqual(summary, {
      tags: 1, manifests: 1, links: gone.length, blobs: gone.length, bytesFreed: gone.reduce((n, blob) => n + blob.size, 0),
    });
    for (const blob of gone) assert.ok(!stored(blob.digest), `${blob.digest} is deleted from disk`);
    for (const blob of [...b.blobs, ...k.blobs]) assert.ok(stored(blob.digest), `${blob.digest} is still used and stays`);

    // What is left still pulls whole (readLayoutImage re-hashes every blob).
    mkdirSync(path.join(c.dir, 'out'), { recursive: true });
    for (const ref of ['acme/app:b', 'acme/keep:k']) {
      mustSucceed(`pull ${ref}`, await c.skopeo(['copy', '--src-creds', CREDS, `docker://${server.host}/${ref}`, `oci:${path.join(c.dir, 'out', ref.replace(/[/:]/g, '-'))}:x`]));
    }
    const pullA = await c.skopeo(['inspect', '--raw', '--creds', CREDS, `docker://${server.host}/acme/app@${a.manifestDigest}`]);
    assert.notEqual(pullA.code, 0, 'the collected manifest is gone');

    // A second pass finds nothing left to do.
    assert.deepEqual(parseSummary(await server.cli('admin', 'gc')), { tags: 0, manifests: 0, links: 0, blobs: 0, bytesFreed: 0 });
  });

  it('collects an index and its children together, and a referrer with its subject', async () => {
    const token = await registryToken(server, ALICE, 'repository:acme/multi:pull,push,delete');
    const auth = { authorization: `Bearer ${token}` };
    const child = writeTinyImage(path.join(c.dir, 'child'), 'c', [randomLayer(8 * 1024)]);
    await push(child, 'acme/multi:child');
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: child.manifestDigest, size: Buffer.byteLength(JSON.stringify(child.manifest)), platform: { architecture: 'amd64', os: 'linux' } }],
    }));
    const putIndex = await fetch(`${server.url}/v2/acme/multi/manifests/list`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: new Uint8Array(index) });
    assert.equal(putIndex.status, 201, await putIndex.text());
    // A referrer pushed by digest, whose subject is the index: kept while the index is.
    const empty = Buffer.from('{}');
    const upload = await fetch(`${server.url}/v2/acme/multi/blobs/uploads/?digest=${sha256(empty)}`, { method: 'POST', headers: auth, body: new Uint8Array(empty) });
    assert.equal(upload.status, 201, await upload.text());
    const referrer = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/vnd.example.sbom',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
      subject: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(index), size: index.length },
    }));
    const putReferrer = await fetch(`${server.url}/v2/acme/multi/manifests/${sha256(referrer)}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: new Uint8Array(referrer) });
    assert.equal(putReferrer.status, 201, await putReferrer.text());
    // The child's own tag goes: the index alone keeps it.
    assert.equal((await fetch(`${server.url}/v2/acme/multi/manifests/child`, { method: 'DELETE', headers: auth })).status, 202);
    assert.equal(parseSummary(await server.cli('admin', 'gc')).manifests, 0, 'a child of a tagged index, and a referrer of it, stay');
    for (const blob of child.blobs) assert.ok(stored(blob.digest));
    assert.ok(stored(sha256(empty)));

    assert.equal((await fetch(`${server.url}/v2/acme/multi/manifests/list`, { method: 'DELETE', headers: auth })).status, 202);
    const summary = parseSummary(await server.cli('admin', 'gc'));
    assert.equal(summary.manifests, 3, 'the index, then its child and its referrer');
    assert.equal(summary.bytesFreed, child.blobs.reduce((n, blob) => n + blob.size, 0) + empty.length);
    for (const blob of child.blobs) assert.ok(!stored(blob.digest));
    assert.ok(!stored(sha256(empty)));
  });
});

describe(`garbage collection grace (${TEST_DB})`, function () {
  this.timeout(120_000);
  let server: TestServer;

  before(async () => {
    server = await startServer({ config: { FEATURE_GARBAGE_COLLECTION: false } });
    await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
  });
  after(async () => {
    await server?.stop();
  });

  it('keeps a blob uploaded for a manifest not pushed yet, and a manifest pushed by digest only', async () => {
    const token = await registryToken(server, ALICE, 'repository:alice/wip:pull,push');
    const auth = { authorization: `Bearer ${token}` };
    const layer = randomLayer(4096);
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    for (const bytes of [layer.blob.bytes, config]) {
      const res = await fetch(`${server.url}/v2/alice/wip/blobs/uploads/?digest=${sha256(bytes)}`, {
        method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes),
      });
      assert.equal(res.status, 201, await res.text());
    }
    assert.deepEqual(parseSummary(await server.cli('admin', 'gc')), { tags: 0, manifests: 0, links: 0, blobs: 0, bytesFreed: 0 });
    assert.ok(existsSync(storedBlobPath(server.dataDir, layer.blob.digest)), 'the uploaded blob waits for its manifest');

    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: layer.blob.mediaType, digest: layer.blob.digest, size: layer.blob.size }],
    }));
    const put = await fetch(`${server.url}/v2/alice/wip/manifests/${sha256(manifest)}`, {
      method: 'PUT', headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: new Uint8Array(manifest),
    });
    assert.equal(put.status, 201, await put.text());
    assert.deepEqual(parseSummary(await server.cli('admin', 'gc')), { tags: 0, manifests: 0, links: 0, blobs: 0, bytesFreed: 0 });
    const get = await fetch(`${server.url}/v2/alice/wip/manifests/${sha256(manifest)}`, { headers: { ...auth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(get.status, 200, 'the untagged manifest survives its grace period');
  });
});
