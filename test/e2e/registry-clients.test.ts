// skopeo, podman and buildah push to and pull from a running Slipway, as a user would.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { readLayoutImage, sha256 } from '../support/oci-layout.js';
import { describeResult } from '../support/run-command.js';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';

const ALICE = { user: 'alice', password: 'alice-password-1' };

describe(`real clients against Slipway (${TEST_DB})`, function () {
  this.timeout(300_000);
  let server: TestServer;
  let clients: Clients[] = [];
  const newClients = () => {
    const c = createClients([server.host]);
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startServer();
    await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
  });
  after(async () => {
    await server?.stop();
  });
  afterEach(() => {
    for (const c of clients) c.dispose();
    clients = [];
  });

  it('skopeo copies a multi-layer image from an OCI layout into Slipway and back with matching digests', async () => {
    const c = newClients();
    const source = await c.makeOciLayout(path.join(c.dir, 'layout-in'), 'v1');
    assert.ok(source.layerDigests.length >= 3, `expected at least 3 layers, got ${source.layerDigests.length}`);
    const creds = `${ALICE.user}:${ALICE.password}`;
    const remote = `docker://${server.host}/alice/multi:v1`;

    mustSucceed('skopeo copy into Slipway', await c.skopeo(['copy', '--dest-creds', creds, source.ref, remote]));

    const raw = mustSucceed('skopeo inspect --raw', await c.skopeo(['inspect', '--raw', '--creds', creds, remote])).stdout;
    assert.equal(sha256(raw), source.manifestDigest, 'Slipway serves the manifest byte for byte');
    const tags = JSON.parse(mustSucceed('skopeo list-tags', await c.skopeo(['list-tags', '--creds', creds, `docker://${server.host}/alice/multi`])).stdout);
    assert.deepEqual(tags.Tags, ['v1']);

    const outDir = path.join(c.dir, 'layout-out');
    mustSucceed('skopeo copy out of Slipway', await c.skopeo(['copy', '--src-creds', creds, remote, `oci:${outDir}:v1`]));
    // readLayoutImage re-hashes every blob, so matching names also means matching bytes.
    const back = readLayoutImage(outDir, 'v1');
    assert.equal(back.manifestDigest, source.manifestDigest);
    assert.equal(back.configDigest, source.configDigest);
    assert.deepEqual(back.layerDigests, source.layerDigests);
  });

  it('podman login, push and pull (into fresh storage) give back the same image', async () => {
    const pusher = newClients();
    const login = mustSucceed('podman login', await pusher.podmanLogin(server.host, ALICE.user, ALICE.password));
    assert.match(login.stdout, /Login Succeeded/);
    assert.ok(JSON.parse(readFileSync(pusher.authFile, 'utf8')).auths[server.host], 'credentials are stored in the isolated auth file');

    const local = await pusher.makeBaseImage();
    const remote = `${server.host}/alice/busybox:1.0`;
    const digestFile = path.join(pusher.dir, 'pushed.digest');
    mustSucceed('podman push', await pusher.podman(['push', '--digestfile', digestFile, local, remote]));
    const pushed = readFileSync(digestFile, 'utf8').trim();
    assert.match(pushed, /^sha256:[0-9a-f]{64}$/);
    const imageId = mustSucceed('podman image inspect', await pusher.podman(['image', 'inspect', '--format', '{{.Id}}', local])).stdout.trim();

    const puller = newClients();
    mustSucceed('podman login', await puller.podmanLogin(server.host, ALICE.user, ALICE.password));
    mustSucceed('podman pull', await puller.podman(['pull', remote]));
    const pulled = mustSucceed('podman image inspect', await puller.podman(['image', 'inspect', '--format', '{{.Id}} {{.Digest}}', remote])).stdout.trim();
    assert.equal(pulled, `${imageId} ${pushed}`, 'same config (image id) and same manifest digest');
  });

  it('podman login with a bad password fails cleanly and stores nothing', async () => {
    const c = newClients();
    // skopeo logs through logrus, which escapes the quotes.
    const host = server.host.replaceAll('.', '\\.');
    const refused = new RegExp(`logging into \\\\?"${host}\\\\?": invalid username/password`);
    const wrong = await c.podmanLogin(server.host, ALICE.user, 'not-alices-password');
    assert.equal(wrong.code, 125, describeResult('podman login with a bad password', wrong));
    assert.match(wrong.stderr, refused);
    assert.doesNotMatch(wrong.stdout, /Login Succeeded/);

    const nobody = await c.podmanLogin(server.host, 'nobody-here', 'some-password');
    assert.equal(nobody.code, 125, describeResult('podman login as an unknown user', nobody));
    assert.match(nobody.stderr, refused);

    const skopeo = await c.skopeo(['login', '--username', ALICE.user, '--password-stdin', server.host], { input: 'not-alices-password' });
    assert.equal(skopeo.code, 1, describeResult('skopeo login with a bad password', skopeo));
    assert.match(skopeo.stderr, refused);

    assert.deepEqual(JSON.parse(readFileSync(c.authFile, 'utf8')).auths ?? {}, {});
  });

  it('buildah builds an image FROM scratch and pushes it', async () => {
    const c = newClients();
    const local = await c.makeBaseImage('localhost/slipway-test/scratch-built:1');
    const remote = `${server.host}/alice/scratch-built:1`;
    const digestFile = path.join(c.dir, 'built.digest');
    const creds = `${ALICE.user}:${ALICE.password}`;
    mustSucceed('buildah push', await c.buildah(['push', '--creds', creds, '--digestfile', digestFile, local, remote]));
    const pushed = readFileSync(digestFile, 'utf8').trim();

    const raw = mustSucceed('skopeo inspect --raw', await c.skopeo(['inspect', '--raw', '--creds', creds, `docker://${remote}`])).stdout;
    assert.equal(sha256(raw), pushed, 'Slipway holds the manifest buildah reports');
    const manifest = JSON.parse(raw) as { layers: unknown[] };
    assert.equal(manifest.layers.length, 1, 'FROM scratch + one COPY is one layer');
    // The image runs nowhere here, but its config must name busybox's shell as buildah wrote it.
    const config = JSON.parse(mustSucceed('skopeo inspect --config', await c.skopeo(['inspect', '--config', '--creds', creds, `docker://${remote}`])).stdout);
    assert.deepEqual(config.config.Cmd, ['/bin/sh']);
  });
});
