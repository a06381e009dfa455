// Proves the client wrappers against the CNCF reference registry, so that when a Slipway test
// fails the registry is to blame, not the harness.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { readLayoutImage, sha256 } from '../support/oci-layout.js';
import { REFERENCE_PASSWORD, REFERENCE_USER, startReferenceRegistry, type ReferenceRegistry } from '../support/reference-registry.js';

describe('client wrappers against the reference registry (docker-registry)', function () {
  this.timeout(300_000);
  let reg: ReferenceRegistry;
  let clients: Clients[] = [];
  const newClients = () => {
    const c = createClients([reg.host]);
    clients.push(c);
    return c;
  };

  before(async () => {
    reg = await startReferenceRegistry({ auth: true });
  });
  after(async () => {
    await reg?.stop();
  });
  afterEach(() => {
    for (const c of clients) c.dispose();
    clients = [];
  });

  it('stops exactly the process it started', async () => {
    const other = await startReferenceRegistry();
    const pid = other.pid;
    assert.equal((await fetch(`${other.url}/v2/`)).status, 200);
    await other.stop();
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.equal((await fetch(`${reg.url}/v2/`)).status, 401, 'the shared registry must still be running');
  });

  it('skopeo copies a multi-layer OCI layout in and back out with every digest intact', async () => {
    const c = newClients();
    const source = await c.makeOciLayout(path.join(c.dir, 'layout-in'), 'v1');
    assert.ok(source.layerDigests.length >= 3, `expected at least 3 layers, got ${source.layerDigests.length}`);
    assert.equal(new Set(source.layerDigests).size, source.layerDigests.length, 'layers must differ');
    const creds = `${REFERENCE_USER}:${REFERENCE_PASSWORD}`;
    const remote = `docker://${reg.host}/wrappers/multi:v1`;

    mustSucceed('skopeo copy in', await c.skopeo(['copy', '--dest-creds', creds, source.ref, remote]));
    const raw = mustSucceed('skopeo inspect --raw', await c.skopeo(['inspect', '--raw', '--creds', creds, remote])).stdout;
    assert.equal(sha256(raw), source.manifestDigest, 'the registry serves the manifest byte for byte');

    const outDir = path.join(c.dir, 'layout-out');
    mustSucceed('skopeo copy out', await c.skopeo(['copy', '--src-creds', creds, remote, `oci:${outDir}:v1`]));
    const back = readLayoutImage(outDir, 'v1');
    assert.equal(back.manifestDigest, source.manifestDigest);
    assert.equal(back.configDigest, source.configDigest);
    assert.deepEqual(back.layerDigests, source.layerDigests);
  });

  it('skopeo without credentials is refused by a registry that requires them', async () => {
    const c = newClients();
    const r = await c.skopeo(['inspect', '--raw', `docker://${reg.host}/wrappers/multi:v1`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unauthorized|authentication required/i);
  });

  it('podman login with a bad password fails and stores nothing', async () => {
    const c = newClients();
    const r = await c.podmanLogin(reg.host, REFERENCE_USER, 'not-the-password');
    assert.notEqual(r.code, 0, 'podman login must fail');
    assert.match(r.stderr, /unauthorized|invalid username\/password/i);
    assert.deepEqual(JSON.parse(readFileSync(c.authFile, 'utf8')).auths ?? {}, {});
  });

  it('podman login, push and pull (into fresh storage) give back the same image', async () => {
    const pusher = newClients();
    mustSucceed('podman login', await pusher.podmanLogin(reg.host, REFERENCE_USER, REFERENCE_PASSWORD));
    assert.ok(JSON.parse(readFileSync(pusher.authFile, 'utf8')).auths[reg.host], 'login writes to the isolated auth file');
    const local = await pusher.makeBaseImage();
    const remote = `${reg.host}/wrappers/busybox:1`;
    const digestFile = path.join(pusher.dir, 'pushed.digest');
    mustSucceed('podman push', await pusher.podman(['push', '--digestfile', digestFile, local, remote]));
    const pushed = readFileSync(digestFile, 'utf8').trim();
    assert.match(pushed, /^sha256:[0-9a-f]{64}$/);
    const imageId = mustSucceed('podman inspect', await pusher.podman(['image', 'inspect', '--format', '{{.Id}}', local])).stdout.trim();

    const puller = newClients();
    mustSucceed('podman login', await puller.podmanLogin(reg.host, REFERENCE_USER, REFERENCE_PASSWORD));
    mustSucceed('podman pull', await puller.podman(['pull', remote]));
    const pulledId = mustSucceed('podman inspect', await puller.podman(['image', 'inspect', '--format', '{{.Id}} {{.Digest}}', remote])).stdout.trim();
    assert.equal(pulledId, `${imageId} ${pushed}`);
  });

  it('buildah builds FROM scratch and pushes; the registry holds the digest buildah reports', async () => {
    const c = newClients();
    const local = await c.makeBaseImage();
    const remote = `${reg.host}/wrappers/built:1`;
    const digestFile = path.join(c.dir, 'built.digest');
    mustSucceed('buildah push', await c.buildah(['push', '--creds', `${REFERENCE_USER}:${REFERENCE_PASSWORD}`, '--digestfile', digestFile, local, remote]));
    const raw = mustSucceed('skopeo inspect --raw', await c.skopeo(['inspect', '--raw', '--creds', `${REFERENCE_USER}:${REFERENCE_PASSWORD}`, `docker://${remote}`])).stdout;
    assert.equal(sha256(raw), readFileSync(digestFile, 'utf8').trim());
  });

  it('keeps each test to its own storage', async () => {
    const a = newClients();
    const b = newClients();
    await a.makeBaseImage('localhost/slipway-test/only-in-a:1');
    const inA = await a.podman(['image', 'exists', 'localhost/slipway-test/only-in-a:1']);
    const inB = await b.podman(['image', 'exists', 'localhost/slipway-test/only-in-a:1']);
    assert.equal(inA.code, 0);
    assert.equal(inB.code, 1);
  });
});
