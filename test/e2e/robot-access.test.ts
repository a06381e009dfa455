// Who may pull and push what, as podman, skopeo and buildah see it: robots, other users, anonymous.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createClients, mustSucceed, type Clients, type CommandResult } from '../support/clients.js';
import { describeResult } from '../support/run-command.js';
import { startServer, TEST_DB, type TestServer } from '../support/server.js';

const ALICE = { user: 'alice', password: 'alice-password-1' };
const BOB = { user: 'bob', password: 'bob-password-22' };

// What each client prints for each refusal. The registry answers an anonymous caller 401
// UNAUTHORIZED (log in and retry), a signed-in caller without read 404 NAME_UNKNOWN, so that a
// private repository looks exactly like a missing one, and a push without write 403 DENIED.
// On 404 and 403 the clients print the error code's own text (containers/image errcode), not
// the registry's message.
const ANONYMOUS_REFUSED = /unauthorized: authentication required/;
const SIGNED_IN_REFUSED = /reading manifest 1 in 127\.0\.0\.1:\d+\/acme\/private-app: name unknown/;
const PUSH_REFUSED = /: denied\b/;

function assertRefused(what: string, r: CommandResult, code: number, text: RegExp): void {
  assert.equal(r.code, code, describeResult(what, r));
  assert.ok(!r.timedOut, describeResult(what, r));
  assert.match(r.stderr, text, describeResult(what, r));
}

describe(`robot and anonymous access with real clients (${TEST_DB})`, function () {
  this.timeout(300_000);
  let server: TestServer;
  let clients: Clients[] = [];
  const tokens: Record<string, string> = {};
  /** Manifest digest of the image alice pushed to both repositories. */
  let pushedDigest = '';
  let imageId = '';
  const newClients = () => {
    const c = createClients([server.host]);
    clients.push(c);
    return c;
  };
  const privateRepo = () => `${server.host}/acme/private-app`;
  const publicRepo = () => `${server.host}/acme/public-app`;

  before(async () => {
    server = await startServer();
    const admin = (...args: string[]) => server.cli('admin', ...args);
    await admin('create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
    await admin('create-user', BOB.user, '--email', 'bob@example.com', '--password', BOB.password);
    await admin('create-org', 'acme', '--owner', ALICE.user);
    await admin('create-org', 'other', '--owner', BOB.user);
    await admin('create-repo', 'acme/private-app', '--private');
    await admin('create-repo', 'acme/public-app', '--public');
    await admin('create-repo', 'other/tools', '--private');
    tokens.reader = await admin('create-robot', 'acme+reader');
    tokens.outsider = await admin('create-robot', 'other+builder');
    await admin('grant', 'acme/private-app', 'acme+reader', 'read');
    await admin('grant', 'acme/public-app', 'acme+reader', 'read');
    // The outsider is a working credential, just not for acme: it may write to its own namespace.
    await admin('grant', 'other/tools', 'other+builder', 'write');
    for (const t of [tokens.reader, tokens.outsider]) assert.match(t!, /^\S{20,}$/, 'create-robot prints the token alone');

    const c = createClients([server.host]);
    try {
      mustSucceed('podman login as alice', await c.podmanLogin(server.host, ALICE.user, ALICE.password));
      const local = await c.makeBaseImage();
      const digestFile = path.join(c.dir, 'digest');
      mustSucceed('podman push private', await c.podman(['push', '--digestfile', digestFile, local, `${privateRepo()}:1`]));
      pushedDigest = readFileSync(digestFile, 'utf8').trim();
      mustSucceed('podman push public', await c.podman(['push', local, `${publicRepo()}:1`]));
      imageId = mustSucceed('podman image inspect', await c.podman(['image', 'inspect', '--format', '{{.Id}}', local])).stdout.trim();
    } finally {
      c.dispose();
    }
  });
  after(async () => {
    await server?.stop();
  });
  afterEach(() => {
    for (const c of clients) c.dispose();
    clients = [];
  });

  it('a robot with read on a private repository pulls it', async () => {
    const c = newClients();
    mustSucceed('podman login as acme+reader', await c.podmanLogin(server.host, 'acme+reader', tokens.reader!));
    mustSucceed('podman pull', await c.podman(['pull', `${privateRepo()}:1`]));
    const pulled = mustSucceed('podman image inspect', await c.podman(['image', 'inspect', '--format', '{{.Id}} {{.Digest}}', `${privateRepo()}:1`])).stdout.trim();
    assert.equal(pulled, `${imageId} ${pushedDigest}`);

    const raw = await c.skopeo(['inspect', '--raw', '--creds', `acme+reader:${tokens.reader}`, `docker://${privateRepo()}:1`]);
    assert.equal(raw.code, 0, describeResult('skopeo inspect as acme+reader', raw));
    mustSucceed('buildah pull as acme+reader', await c.buildah(['pull', '--creds', `acme+reader:${tokens.reader}`, `${privateRepo()}:1`]));
  });

  it('a robot of another namespace is refused by podman, skopeo and buildah', async () => {
    const c = newClients();
    const creds = `other+builder:${tokens.outsider}`;
    mustSucceed('podman login as other+builder', await c.podmanLogin(server.host, 'other+builder', tokens.outsider!));
    assertRefused('podman pull as other+builder', await c.podman(['pull', `${privateRepo()}:1`]), 125, SIGNED_IN_REFUSED);
    assertRefused('skopeo inspect as other+builder', await c.skopeo(['inspect', '--creds', creds, `docker://${privateRepo()}:1`]), 1, SIGNED_IN_REFUSED);
    assertRefused('buildah pull as other+builder', await c.buildah(['pull', '--creds', creds, `${privateRepo()}:1`]), 125, SIGNED_IN_REFUSED);
    assert.equal((await c.podman(['image', 'exists', `${privateRepo()}:1`])).code, 1, 'nothing was pulled');
  });

  it('another user is refused, exactly as if the repository did not exist', async () => {
    const c = newClients();
    const creds = `${BOB.user}:${BOB.password}`;
    mustSucceed('podman login as bob', await c.podmanLogin(server.host, BOB.user, BOB.password));
    const refused = await c.podman(['pull', `${privateRepo()}:1`]);
    assertRefused('podman pull as bob', refused, 125, SIGNED_IN_REFUSED);
    const missing = await c.podman(['pull', `${server.host}/acme/no-such-app:1`]);
    assertRefused('podman pull of a missing repository as bob', missing, 125, /acme\/no-such-app: name unknown/);
    assert.equal(refused.stderr.replaceAll('private-app', 'X'), missing.stderr.replaceAll('no-such-app', 'X'));

    assertRefused('skopeo inspect as bob', await c.skopeo(['inspect', '--creds', creds, `docker://${privateRepo()}:1`]), 1, SIGNED_IN_REFUSED);
    assertRefused('buildah pull as bob', await c.buildah(['pull', '--creds', creds, `${privateRepo()}:1`]), 125, SIGNED_IN_REFUSED);
  });

  it('an anonymous client is refused a private repository', async () => {
    const c = newClients();
    assertRefused('anonymous podman pull', await c.podman(['pull', `${privateRepo()}:1`]), 125, ANONYMOUS_REFUSED);
    assertRefused('anonymous skopeo inspect', await c.skopeo(['inspect', `docker://${privateRepo()}:1`]), 1, ANONYMOUS_REFUSED);
    assertRefused('anonymous buildah pull', await c.buildah(['pull', `${privateRepo()}:1`]), 125, ANONYMOUS_REFUSED);
  });

  it('an anonymous client pulls a public repository', async () => {
    const c = newClients();
    mustSucceed('anonymous podman pull', await c.podman(['pull', `${publicRepo()}:1`]));
    const pulled = mustSucceed('podman image inspect', await c.podman(['image', 'inspect', '--format', '{{.Id}} {{.Digest}}', `${publicRepo()}:1`])).stdout.trim();
    assert.equal(pulled, `${imageId} ${pushedDigest}`);
    const raw = await c.skopeo(['inspect', '--raw', `docker://${publicRepo()}:1`]);
    assert.equal(raw.code, 0, describeResult('anonymous skopeo inspect', raw));
  });

  it('an anonymous client cannot push, even to a public repository', async () => {
    const c = newClients();
    const local = await c.makeBaseImage();
    assertRefused('anonymous podman push', await c.podman(['push', local, `${publicRepo()}:anon`]), 125, ANONYMOUS_REFUSED);
    assertRefused('anonymous skopeo copy', await c.skopeo(['copy', `containers-storage:${local}`, `docker://${publicRepo()}:anon`]), 1, ANONYMOUS_REFUSED);
  });

  it('a read-only robot cannot push: neither new layers nor a new tag of known ones', async () => {
    const c = newClients();
    const creds = `acme+reader:${tokens.reader}`;
    const layout = await c.makeOciLayout(path.join(c.dir, 'layout'), 'v1');
    // New layers: refused at the first blob upload.
    const copy = await c.skopeo(['copy', '--dest-creds', creds, layout.ref, `docker://${privateRepo()}:2`]);
    assertRefused('skopeo copy as acme+reader', copy, 1, PUSH_REFUSED);
    assert.match(copy.stderr, /initiating layer upload to \/v2\/acme\/private-app\/blobs\/uploads\/ in [^:]+:\d+: denied/);

    // Layers the repository already has: the client skips them, and the manifest is refused.
    mustSucceed('podman login as acme+reader', await c.podmanLogin(server.host, 'acme+reader', tokens.reader!));
    const local = await c.makeBaseImage();
    const podmanPush = await c.podman(['push', local, `${privateRepo()}:3`]);
    assertRefused('podman push as acme+reader', podmanPush, 125, PUSH_REFUSED);
    assert.match(podmanPush.stderr, /uploading manifest 3 to [^/]+\/acme\/private-app: denied/);
    const buildahPush = await c.buildah(['push', '--creds', creds, local, `${privateRepo()}:4`]);
    assertRefused('buildah push as acme+reader', buildahPush, 125, PUSH_REFUSED);
    assert.match(buildahPush.stderr, /uploading manifest 4 to [^/]+\/acme\/private-app: denied/);

    const tags = JSON.parse(mustSucceed('skopeo list-tags as alice', await c.skopeo(['list-tags', '--creds', `${ALICE.user}:${ALICE.password}`, `docker://${privateRepo()}`])).stdout);
    assert.deepEqual(tags.Tags, ['1'], 'no tag was created by the refused pushes');
  });
});
