// Manifest labels (/api/v1/repository/{repo}/manifest/{digest}/labels): image-config labels
// stored read-only at push, API labels added, viewed and deleted, Quay's key and media type
// rules, and the refusals, against the real server.
import assert from 'node:assert/strict';
import { call, type Creds } from '../api/account-api.js';
import { pushTestImage } from '../api/repo-api.js';
import { request } from '../registry/registry-client.js';
import { basic, registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const NO_SUCH_DIGEST = `sha256:${'0'.repeat(64)}`;

interface LabelView {
  id: string;
  key: string;
  value: string;
  source_type: string;
  media_type: string;
}

/** Pushes a one-layer image as alice whose config carries `labels`; resolves with the manifest digest. */
async function pushImage(server: TestServer, repo: string, tag: string, labels: Record<string, string>, configMediaType?: string): Promise<string> {
  return (await pushTestImage(server, ALICE, repo, tag, { labels, configMediaType })).digest;
}

describe(`/api/v1 manifest labels (${TEST_DB})`, function () {
  this.timeout(120_000);
  let server: TestServer;
  let digest: string;
  let labelsPath: string;

  before(async () => {
    server = await startServer();
    for (const u of [ALICE, BOB]) await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
    digest = await pushImage(server, 'alice/app', 'v1', {
      maintainer: 'alice@example.com', 'com.example.meta': '{"tier":"web"}', 'Not A Valid Key': 'kept anyway', 'quay.expires-after': '4w',
    });
    labelsPath = `/repository/alice/app/manifest/${digest}/labels`;
  });
  after(async () => server?.stop());

  it('stores the image config\'s labels as read-only manifest labels at push', async () => {
    const res = await call(server, ALICE, 'GET', labelsPath);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const byKey = new Map<string, LabelView>(res.body.labels.map((l: LabelView) => [l.key, l]));
    assert.deepEqual([...byKey.keys()].sort(), ['Not A Valid Key', 'com.example.meta', 'maintainer', 'quay.expires-after']);
    for (const l of byKey.values()) {
      assert.equal(l.source_type, 'manifest');
      assert.match(l.id, /^[0-9a-f-]{36}$/);
    }
    assert.equal(byKey.get('com.example.meta')!.media_type, 'application/json');
    assert.equal(byKey.get('maintainer')!.media_type, 'text/plain');
    assert.equal(byKey.get('maintainer')!.value, 'alice@example.com');
    // An artifact's config is no image config: its "labels" are not read.
    const artifact = await pushImage(server, 'alice/app', 'artifact', { maintainer: 'nobody' }, 'application/vnd.example.thing.config.v1+json');
    assert.deepEqual((await call(server, ALICE, 'GET', `/repository/alice/app/manifest/${artifact}/labels`)).body.labels, []);
  });

  it('adds, views, filters and deletes API labels, and logs each change', async () => {
    const res = await fetch(`${server.url}/api/v1${labelsPath}`, {
      method: 'POST', headers: { authorization: basic(ALICE.user, ALICE.password), 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'team', value: 'infra', media_type: 'text/plain' }),
    });
    assert.equal(res.status, 201);
    const { label } = (await res.json()) as { label: LabelView };
    assert.deepEqual({ ...label, id: undefined }, { id: undefined, key: 'team', value: 'infra', source_type: 'api', media_type: 'text/plain' });
    assert.equal(res.headers.get('location'), `/api/v1${labelsPath}/${label.id}`);
    assert.deepEqual((await call(server, ALICE, 'GET', `${labelsPath}/${label.id}`)).body, label);

    const json = await call(server, ALICE, 'POST', labelsPath, { key: 'build.info', value: '{"ci":true}', media_type: 'application/json' });
    assert.equal(json.status, 201, JSON.stringify(json.body));
    const plain = await call(server, ALICE, 'POST', labelsPath, { key: 'te.st-1', value: 'x', media_type: null });
    assert.equal(plain.body.label.media_type, 'text/plain');
    const filtered = await call(server, ALICE, 'GET', `${labelsPath}?filter=te`);
    assert.deepEqual(filtered.body.labels.map((l: LabelView) => l.key).sort(), ['te.st-1', 'team']);

    assert.equal((await call(server, ALICE, 'DELETE', `${labelsPath}/${label.id}`)).status, 204);
    assert.equal((await call(server, ALICE, 'GET', `${labelsPath}/${label.id}`)).status, 404);
    assert.equal((await call(server, ALICE, 'DELETE', `${labelsPath}/${label.id}`)).status, 404);

    const logs = (await call(server, ALICE, 'GET', '/repository/alice/app/logs')).body.logs as { kind: string; metadata: Record<string, unknown> }[];
    const added = logs.filter((l) => l.kind === 'manifest_label_add').map((l) => l.metadata.key).sort();
    assert.deepEqual(added, ['build.info', 'te.st-1', 'team']);
    const deleted = logs.find((l) => l.kind === 'manifest_label_delete');
    assert.equal(deleted?.metadata.id, label.id);
    assert.equal(deleted?.metadata.manifest_digest, digest);
  });

  it('refuses invalid and reserved keys, bad media types and values that are not the JSON they claim', async () => {
    const cases: [unknown, string, RegExp?][] = [
      [{ key: 'Upper', value: 'x', media_type: 'text/plain' }, 'key', /invalid format/],
      [{ key: '-lead', value: 'x', media_type: 'text/plain' }, 'key'],
      [{ key: 'a..b', value: 'x', media_type: 'text/plain' }, 'key'],
      [{ key: 'trail-', value: 'x', media_type: 'text/plain' }, 'key'],
      [{ key: 'a'.repeat(256), value: 'x', media_type: 'text/plain' }, 'key'],
      [{ key: '', value: 'x', media_type: 'text/plain' }, 'key'],
      [{ key: 'com.docker.thing', value: 'x', media_type: 'text/plain' }, 'key', /reserved prefix/],
      [{ key: 'org.opencontainers.image.title', value: 'x', media_type: 'text/plain' }, 'key', /reserved prefix/],
      [{ key: 'quay.expires-after', value: '1h', media_type: 'text/plain' }, 'key', /reserved prefix/],
      [{ key: 'ok', value: 'x', media_type: 'text/html' }, 'media_type', /Media type is invalid/],
      [{ key: 'ok', value: '{not json', media_type: 'application/json' }, 'value', /JSON/],
      [{ key: 'ok', value: 7, media_type: 'text/plain' }, 'value'],
      [{ key: 'ok', media_type: 'text/plain' }, 'value'],
      [{ key: 'ok', value: 'x', media_type: 'text/plain', extra: 1 }, 'extra'],
    ];
    for (const [body, field, message] of cases) {
      const res = await call(server, ALICE, 'POST', labelsPath, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.field, field, JSON.stringify(res.body));
      if (message) assert.match(res.body.error_message, message);
    }
  });

  it('keeps read-only labels: deleting one is refused as Quay refuses it', async () => {
    const { labels } = (await call(server, ALICE, 'GET', labelsPath)).body as { labels: LabelView[] };
    const fromImage = labels.find((l) => l.key === 'maintainer')!;
    const res = await call(server, ALICE, 'DELETE', `${labelsPath}/${fromImage.id}`);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.error_message, /Cannot delete immutable label/);
    assert.equal((await call(server, ALICE, 'GET', `${labelsPath}/${fromImage.id}`)).status, 200);
  });

  it('answers 404 for unknown manifests and labels, 400 for a malformed digest', async () => {
    assert.equal((await call(server, ALICE, 'GET', `/repository/alice/app/manifest/${NO_SUCH_DIGEST}/labels`)).status, 404);
    assert.equal((await call(server, ALICE, 'POST', `/repository/alice/app/manifest/${NO_SUCH_DIGEST}/labels`, { key: 'k', value: 'v', media_type: 'text/plain' })).status, 404);
    assert.equal((await call(server, ALICE, 'GET', `${labelsPath}/00000000-0000-0000-0000-000000000000`)).status, 404);
    const bad = await call(server, ALICE, 'GET', '/repository/alice/app/manifest/sha256:xyz/labels');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'manifestref');
  });

  it('refuses anonymous callers (401), readers\' writes (403) and changes to a READ_ONLY repository (409)', async () => {
    const added = await call(server, ALICE, 'POST', labelsPath, { key: 'guarded', value: 'x', media_type: 'text/plain' });
    const id = added.body.label.id as string;
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/app/permissions/user/bob', { role: 'read' })).status, 200);
    assert.equal((await call(server, null, 'GET', labelsPath)).status, 401);
    assert.equal((await call(server, BOB, 'GET', labelsPath)).status, 200);
    assert.equal((await call(server, null, 'POST', labelsPath, { key: 'k', value: 'v', media_type: 'text/plain' })).status, 401);
    assert.equal((await call(server, BOB, 'POST', labelsPath, { key: 'k', value: 'v', media_type: 'text/plain' })).status, 403);
    assert.equal((await call(server, BOB, 'DELETE', `${labelsPath}/${id}`)).status, 403);
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/app/changestate', { state: 'READ_ONLY' })).status, 200);
    assert.equal((await call(server, ALICE, 'POST', labelsPath, { key: 'k', value: 'v', media_type: 'text/plain' })).status, 409);
    assert.equal((await call(server, ALICE, 'DELETE', `${labelsPath}/${id}`)).status, 409);
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/app/changestate', { state: 'NORMAL' })).status, 200);
    assert.equal((await call(server, ALICE, 'DELETE', `${labelsPath}/${id}`)).status, 204);
  });

  it('removes a manifest\'s labels with the manifest', async () => {
    const other = await pushImage(server, 'alice/app', 'doomed', { doomed: 'yes' });
    assert.equal((await call(server, ALICE, 'POST', `/repository/alice/app/manifest/${other}/labels`, { key: 'extra', value: 'v', media_type: 'text/plain' })).status, 201);
    const token = await registryToken(server, ALICE, 'repository:alice/app:pull,push,delete');
    assert.equal((await request(server, 'DELETE', `/v2/alice/app/manifests/${other}`, { token })).status, 202);
    assert.equal((await call(server, ALICE, 'GET', `/repository/alice/app/manifest/${other}/labels`)).status, 404);
  });
});
