// The tag API (/api/v1/repository/{repo}/tag/…): history, create and move, delete, restore,
// expirations (API and `quay.expires-after`), permanent deletion, the time machine setting, and
// the refusals, against the real server and its /v2 side.
import assert from 'node:assert/strict';
import { call, type Creds } from '../api/account-api.js';
import { pushTestImage } from '../api/repo-api.js';
import { request, sha256 } from '../registry/registry-client.js';
import { registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';

const ALICE: Creds = { user: 'alice', password: 'alice-password-1' };
const BOB: Creds = { user: 'bob', password: 'bob-password-22' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const NO_SUCH_DIGEST = `sha256:${'0'.repeat(64)}`;

interface Pushed {
  digest: string;
  layerSize: number;
}

/** Pushes a one-layer image whose config carries `labels`, tagged `ref` (a tag or its digest). */
function pushImage(server: TestServer, who: Creds, repo: string, ref: string, seed: string, labels: Record<string, string> = {}): Promise<Pushed> {
  return pushTestImage(server, who, repo, ref, { seed, labels });
}

async function pushIndex(server: TestServer, who: Creds, repo: string, tag: string, children: string[]): Promise<string> {
  const token = await registryToken(server, who, `repository:${repo}:pull,push`);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_INDEX,
    manifests: children.map((digest, i) => ({ mediaType: OCI_MANIFEST, digest, size: 100 + i, platform: { architecture: `arch${i}`, os: 'linux' } })),
  }));
  const res = await request(server, 'PUT', `/v2/${repo}/manifests/${tag}`, { token, body: index, headers: { 'content-type': OCI_INDEX } });
  assert.equal(res.status, 201, res.body.toString());
  return sha256(index);
}

/** The tags /v2 lists. */
async function v2Tags(server: TestServer, who: Creds, repo: string): Promise<string[]> {
  const token = await registryToken(server, who, `repository:${repo}:pull`);
  const res = await request(server, 'GET', `/v2/${repo}/tags/list`, { token });
  assert.equal(res.status, 200, res.body.toString());
  return (JSON.parse(res.body.toString()) as { tags: string[] | null }).tags ?? [];
}

/** The status /v2 answers a manifest GET by tag with. */
async function v2Pull(server: TestServer, who: Creds, repo: string, tag: string): Promise<number> {
  const token = await registryToken(server, who, `repository:${repo}:pull`);
  return (await request(server, 'GET', `/v2/${repo}/manifests/${tag}`, { token, headers: { accept: OCI_MANIFEST + ', ' + OCI_INDEX } })).status;
}

/** Waits (generously) until /v2 no longer lists the tag; the test asserts the outcome, never the time taken. */
async function untilGone(server: TestServer, who: Creds, repo: string, tag: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await v2Tags(server, who, repo)).includes(tag)) {
    if (Date.now() > deadline) assert.fail(`${tag} is still listed in ${repo}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function logKinds(server: TestServer, who: Creds, repo: string): Promise<{ kind: string; metadata: Record<string, unknown> }[]> {
  const res = await call(server, who, 'GET', `/repository/${repo}/logs`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.logs;
}

describe(`/api/v1 tags and the time machine (${TEST_DB})`, function () {
  this.timeout(120_000);
  let server: TestServer;

  before(async () => {
    server = await startServer({ config: { PERMANENTLY_DELETE_TAGS: true, LABELED_EXPIRATION_MINIMUM: '1s', LABELED_EXPIRATION_MAXIMUM: '1d' } });
    for (const u of [ALICE, BOB]) await server.cli('admin', 'create-user', u.user, '--email', `${u.user}@example.com`, '--password', u.password);
  });
  after(async () => server?.stop());

  it('lists the history newest first with Quay\'s fields, filters and pages', async () => {
    const one = await pushImage(server, ALICE, 'alice/hist', 'latest', 'one');
    const two = await pushImage(server, ALICE, 'alice/hist', 'latest', 'two');
    await pushImage(server, ALICE, 'alice/hist', 'other-tag', 'three');
    const res = await call(server, ALICE, 'GET', '/repository/alice/hist/tag/?specificTag=latest');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.page, 1);
    assert.equal(res.body.has_additional, false);
    const [now, before] = res.body.tags;
    assert.equal(res.body.tags.length, 2);
    assert.deepEqual(Object.keys(now).sort(), ['is_manifest_list', 'last_modified', 'manifest_digest', 'name', 'reversion', 'size', 'start_ts'].sort());
    assert.equal(now.manifest_digest, two.digest);
    assert.equal(now.size, two.layerSize);
    assert.equal(now.is_manifest_list, false);
    assert.equal(now.reversion, false);
    assert.match(now.last_modified, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} -0000$/);
    assert.equal(before.manifest_digest, one.digest);
    assert.ok(before.end_ts >= before.start_ts && before.end_ts <= now.start_ts + 1, JSON.stringify(before));
    assert.match(before.expiration, /-0000$/);

    const active = await call(server, ALICE, 'GET', '/repository/alice/hist/tag/?onlyActiveTags=true');
    assert.deepEqual(active.body.tags.map((t: { name: string }) => t.name).sort(), ['latest', 'other-tag']);
    const like = await call(server, ALICE, 'GET', '/repository/alice/hist/tag/?onlyActiveTags=true&filter_tag_name=like:HER-T');
    assert.deepEqual(like.body.tags.map((t: { name: string }) => t.name), ['other-tag']);
    const eq = await call(server, ALICE, 'GET', '/repository/alice/hist/tag/?filter_tag_name=eq:latest');
    assert.equal(eq.body.tags.length, 2);
    // `_` is a LIKE wildcard in SQL; here it matches only itself.
    assert.equal((await call(server, ALICE, 'GET', '/repository/alice/hist/tag/?filter_tag_name=like:r_t')).body.tags.length, 0);

    const first = await call(server, ALICE, 'GET', '/repository/alice/hist/tag/?limit=2&page=1');
    assert.equal(first.body.tags.length, 2);
    assert.equal(first.body.has_additional, true);
    const second = await call(server, ALICE, 'GET', '/repository/alice/hist/tag/?limit=2&page=2');
    assert.equal(second.body.page, 2);
    assert.equal(second.body.has_additional, false);
    assert.equal(second.body.tags.length, 1);
    // Quay clamps the page size into 1–100.
    assert.equal((await call(server, ALICE, 'GET', '/repository/alice/hist/tag/?limit=1000')).body.tags.length, 3);

    for (const bad of ['limit=ten', 'page=-1', 'onlyActiveTags=maybe', 'filter_tag_name=latest', 'filter_tag_name=regex:x', 'specificTag=.bad']) {
      const r = await call(server, ALICE, 'GET', `/repository/alice/hist/tag/?${bad}`);
      assert.equal(r.status, 400, `${bad}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error_type, 'invalid_request');
    }
  });

  it('creates and moves tags onto manifests the repository holds, and logs each change', async () => {
    const a = await pushImage(server, ALICE, 'alice/move', 'a', 'a');
    const b = await pushImage(server, ALICE, 'alice/move', 'b', 'b');
    const created = await call(server, ALICE, 'PUT', '/repository/alice/move/tag/stable', { manifest_digest: a.digest });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body, 'Updated');
    const moved = await call(server, ALICE, 'PUT', '/repository/alice/move/tag/stable', { manifest_digest: b.digest });
    assert.equal(moved.status, 201);
    assert.deepEqual(await v2Tags(server, ALICE, 'alice/move'), ['a', 'b', 'stable']);
    const history = (await call(server, ALICE, 'GET', '/repository/alice/move/tag/?specificTag=stable')).body.tags;
    assert.deepEqual(history.map((t: { manifest_digest: string }) => t.manifest_digest), [b.digest, a.digest]);

    const logs = await logKinds(server, ALICE, 'alice/move');
    const create = logs.find((l) => l.kind === 'create_tag');
    assert.equal(create?.metadata.tag, 'stable');
    assert.equal(create?.metadata.manifest_digest, a.digest);
    const move = logs.find((l) => l.kind === 'move_tag');
    assert.equal(move?.metadata.original_manifest_digest, a.digest);
    assert.equal(move?.metadata.manifest_digest, b.digest);

    const cases: [string, unknown, number, string | undefined][] = [
      ['stable', { manifest_digest: NO_SUCH_DIGEST }, 404, undefined],
      ['stable', { manifest_digest: 'sha256:nothex' }, 400, 'manifest_digest'],
      ['stable', {}, 400, 'manifest_digest'],
      ['stable', { manifest_digest: a.digest, colour: 'red' }, 400, 'colour'],
      ['.hidden', { manifest_digest: a.digest }, 400, 'tag'],
    ];
    for (const [tag, body, status, field] of cases) {
      const res = await call(server, ALICE, 'PUT', `/repository/alice/move/tag/${tag}`, body);
      assert.equal(res.status, status, `${tag} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      if (field) assert.equal(res.body.field, field);
    }
    // A manifest of another repository is unknown here.
    const elsewhere = await pushImage(server, ALICE, 'alice/elsewhere', 'x', 'elsewhere');
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/move/tag/stable', { manifest_digest: elsewhere.digest })).status, 404);
  });

  it('deletes a tag and restores it from history, marking the reversion', async () => {
    const v1 = await pushImage(server, ALICE, 'alice/restore', 'app', 'v1');
    const v2 = await pushImage(server, ALICE, 'alice/restore', 'app', 'v2');
    assert.equal((await call(server, ALICE, 'DELETE', '/repository/alice/restore/tag/app')).status, 204);
    assert.equal(await v2Pull(server, ALICE, 'alice/restore', 'app'), 404);
    assert.equal((await call(server, ALICE, 'DELETE', '/repository/alice/restore/tag/app')).status, 404);

    // Back onto the older manifest, then onto the one it had when deleted.
    const back = await call(server, ALICE, 'POST', '/repository/alice/restore/tag/app/restore', { manifest_digest: v1.digest });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(await v2Pull(server, ALICE, 'alice/restore', 'app'), 200);
    let [current] = (await call(server, ALICE, 'GET', '/repository/alice/restore/tag/?specificTag=app')).body.tags;
    assert.equal(current.manifest_digest, v1.digest);
    assert.equal(current.reversion, true);
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/restore/tag/app/restore', { manifest_digest: v2.digest })).status, 200);
    [current] = (await call(server, ALICE, 'GET', '/repository/alice/restore/tag/?onlyActiveTags=true')).body.tags;
    assert.equal(current.manifest_digest, v2.digest);

    const other = await pushImage(server, ALICE, 'alice/restore', 'unrelated', 'other');
    const never = await call(server, ALICE, 'POST', '/repository/alice/restore/tag/app/restore', { manifest_digest: other.digest });
    assert.equal(never.status, 404, 'the tag never pointed there');
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/restore/tag/app/restore', {})).status, 400);
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/restore/tag/app/restore', { manifest_digest: 'latest' })).status, 400);
    const kinds = (await logKinds(server, ALICE, 'alice/restore')).map((l) => l.kind);
    assert.ok(kinds.includes('delete_tag') && kinds.includes('revert_tag'), kinds.join(','));
  });

  it("ends a manifest's cosign tags (sha256-<hex>.sig, .att, .sbom) with the tag deleted", async () => {
    const app = await pushImage(server, ALICE, 'alice/signed', 'app', 'app');
    const prefix = app.digest.replace(':', '-');
    await pushImage(server, ALICE, 'alice/signed', `${prefix}.sig`, 'signature');
    await pushImage(server, ALICE, 'alice/signed', `${prefix}.att`, 'attestation');
    await pushImage(server, ALICE, 'alice/signed', 'unrelated', 'unrelated');
    assert.equal((await call(server, ALICE, 'DELETE', '/repository/alice/signed/tag/app')).status, 204);
    assert.deepEqual(await v2Tags(server, ALICE, 'alice/signed'), ['unrelated']);
    const deleted = (await logKinds(server, ALICE, 'alice/signed')).filter((l) => l.kind === 'delete_tag').map((l) => l.metadata.tag).sort();
    assert.deepEqual(deleted, ['app', `${prefix}.att`, `${prefix}.sig`]);
  });

  it('refuses to restore history outside the time machine window, and checks the window setting', async () => {
    const old = await pushImage(server, ALICE, 'alice/window', 'w', 'old');
    await pushImage(server, ALICE, 'alice/window', 'w', 'new');
    for (const bad of [12345, -1, 1.5]) {
      const res = await call(server, ALICE, 'PUT', '/user/', { tag_expiration_s: bad });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.field, 'tag_expiration_s');
    }
    assert.equal((await call(server, ALICE, 'PUT', '/user/', { tag_expiration_s: 0 })).status, 200);
    const res = await call(server, ALICE, 'POST', '/repository/alice/window/tag/w/restore', { manifest_digest: old.digest });
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match(res.body.error_message, /time machine window/);
    // The history row is still there, only out of reach; a wider window brings it back in.
    assert.equal((await call(server, ALICE, 'PUT', '/user/', { tag_expiration_s: 86400 })).status, 200);
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/window/tag/w/restore', { manifest_digest: old.digest })).status, 200);
    assert.equal((await call(server, ALICE, 'PUT', '/user/', { tag_expiration_s: 1209600 })).status, 200);
  });

  it("uses an organization's own window for its repositories", async () => {
    await server.cli('admin', 'create-org', 'acme', '--owner', ALICE.user);
    const old = await pushImage(server, ALICE, 'acme/tools', 't', 'old');
    await pushImage(server, ALICE, 'acme/tools', 't', 'new');
    const bad = await call(server, ALICE, 'PUT', '/organization/acme', { tag_expiration_s: 3600 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'tag_expiration_s');
    assert.equal((await call(server, ALICE, 'PUT', '/organization/acme', { tag_expiration_s: 0 })).status, 200);
    assert.equal((await call(server, ALICE, 'POST', '/repository/acme/tools/tag/t/restore', { manifest_digest: old.digest })).status, 404);
    // The user's own (two-week) window does not reach into the organization's repositories.
    assert.equal((await call(server, ALICE, 'GET', '/user/')).body.tag_expiration_s, 1209600);
    assert.equal((await call(server, ALICE, 'PUT', '/organization/acme', { tag_expiration_s: 604800 })).status, 200);
    assert.equal((await call(server, ALICE, 'POST', '/repository/acme/tools/tag/t/restore', { manifest_digest: old.digest })).status, 200);
  });

  it('sets, clears and enforces expirations through the API', async () => {
    await pushImage(server, ALICE, 'alice/exp', 'short', 'short');
    await pushImage(server, ALICE, 'alice/exp', 'kept', 'kept');
    const nowS = Math.floor(Date.now() / 1000);
    const refusals: [unknown, string][] = [
      [{ expiration: nowS - 60 }, 'expiration'],
      [{ expiration: nowS + 2 * 86400 }, 'expiration'],
      [{ expiration: 'tomorrow' }, 'expiration'],
      [{ expiration: 1e20 }, 'expiration'],
    ];
    for (const [body, field] of refusals) {
      const res = await call(server, ALICE, 'PUT', '/repository/alice/exp/tag/kept', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.field, field);
    }
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/exp/tag/nosuchtag', { expiration: nowS + 3600 })).status, 404);

    const later = nowS + 3600;
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/exp/tag/kept', { expiration: later })).status, 201);
    let [kept] = (await call(server, ALICE, 'GET', '/repository/alice/exp/tag/?specificTag=kept')).body.tags;
    assert.equal(kept.end_ts, later);
    assert.ok(kept.expiration);
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/exp/tag/kept', { expiration: null })).status, 201);
    [kept] = (await call(server, ALICE, 'GET', '/repository/alice/exp/tag/?specificTag=kept')).body.tags;
    assert.equal(kept.end_ts, undefined);
    assert.equal(kept.expiration, undefined);

    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/exp/tag/short', { expiration: Date.now() / 1000 + 2 })).status, 201);
    await untilGone(server, ALICE, 'alice/exp', 'short');
    assert.equal(await v2Pull(server, ALICE, 'alice/exp', 'short'), 404);
    const history = (await call(server, ALICE, 'GET', '/repository/alice/exp/tag/?specificTag=short')).body.tags;
    assert.equal(history.length, 1, 'an expired tag stays in the history');
    assert.equal((await call(server, ALICE, 'GET', '/repository/alice/exp/tag/?onlyActiveTags=true&specificTag=short')).body.tags.length, 0);
    const view = await call(server, ALICE, 'GET', '/repository/alice/exp');
    assert.deepEqual(Object.keys(view.body.tags).sort(), ['kept'], 'the repository view lists live tags only');
    const logged = (await logKinds(server, ALICE, 'alice/exp')).filter((l) => l.kind === 'change_tag_expiration');
    assert.equal(logged.length, 3);
  });

  it('expires a pushed tag through its quay.expires-after label and restores it inside the window', async () => {
    const img = await pushImage(server, ALICE, 'alice/label-exp', 'temp', 'temp', { 'quay.expires-after': '2s' });
    const forever = await pushImage(server, ALICE, 'alice/label-exp', 'bogus', 'bogus', { 'quay.expires-after': 'soon' });
    let [temp] = (await call(server, ALICE, 'GET', '/repository/alice/label-exp/tag/?specificTag=temp')).body.tags;
    assert.equal(temp.end_ts - temp.start_ts >= 1 && temp.end_ts - temp.start_ts <= 3, true, JSON.stringify(temp));
    await untilGone(server, ALICE, 'alice/label-exp', 'temp');
    assert.equal(await v2Pull(server, ALICE, 'alice/label-exp', 'temp'), 404);
    assert.equal(await v2Pull(server, ALICE, 'alice/label-exp', 'bogus'), 200, 'an invalid value is ignored');
    const [bogus] = (await call(server, ALICE, 'GET', '/repository/alice/label-exp/tag/?specificTag=bogus')).body.tags;
    assert.equal(bogus.manifest_digest, forever.digest);
    assert.equal(bogus.end_ts, undefined);

    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/label-exp/tag/temp/restore', { manifest_digest: img.digest })).status, 200);
    assert.equal(await v2Pull(server, ALICE, 'alice/label-exp', 'temp'), 200);
    [temp] = (await call(server, ALICE, 'GET', '/repository/alice/label-exp/tag/?specificTag=temp')).body.tags;
    assert.equal(temp.reversion, true);
    assert.equal(temp.end_ts, undefined, 'a restored tag does not expire again by itself');
  });

  it('gives an index the expiration its children agree on, and none when they differ', async () => {
    const x = await pushImage(server, ALICE, 'alice/multi', childTag(), 'x', { 'quay.expires-after': '1h' });
    const y = await pushImage(server, ALICE, 'alice/multi', childTag(), 'y', { 'quay.expires-after': '1h' });
    const z = await pushImage(server, ALICE, 'alice/multi', childTag(), 'z', { 'quay.expires-after': '2h' });
    await pushIndex(server, ALICE, 'alice/multi', 'same', [x.digest, y.digest]);
    await pushIndex(server, ALICE, 'alice/multi', 'differ', [x.digest, z.digest]);
    const [same] = (await call(server, ALICE, 'GET', '/repository/alice/multi/tag/?specificTag=same')).body.tags;
    assert.equal(same.is_manifest_list, true);
    assert.equal(same.size, null);
    assert.ok(Math.abs(same.end_ts - same.start_ts - 3600) <= 1, JSON.stringify(same));
    const [differ] = (await call(server, ALICE, 'GET', '/repository/alice/multi/tag/?specificTag=differ')).body.tags;
    assert.equal(differ.end_ts, undefined);
  });

  it('permanently deletes history when enabled, so it can no longer be restored', async () => {
    const gone = await pushImage(server, ALICE, 'alice/perm', 'p', 'gone');
    assert.equal((await call(server, ALICE, 'DELETE', '/repository/alice/perm/tag/p')).status, 204);
    const res = await call(server, ALICE, 'POST', '/repository/alice/perm/tag/p/expire', { manifest_digest: gone.digest });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/perm/tag/p/restore', { manifest_digest: gone.digest })).status, 404);
    const [row] = (await call(server, ALICE, 'GET', '/repository/alice/perm/tag/?specificTag=p')).body.tags;
    assert.ok(row.end_ts < Date.now() / 1000 - 1209600 + 60, 'its end lies before the window');
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/perm/tag/p/expire', { manifest_digest: gone.digest })).status, 404, 'nothing left to delete');

    const alive = await pushImage(server, ALICE, 'alice/perm', 'live', 'alive');
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/perm/tag/live/expire', { manifest_digest: alive.digest, is_alive: true })).status, 200);
    assert.equal(await v2Pull(server, ALICE, 'alice/perm', 'live'), 404);
    assert.ok((await logKinds(server, ALICE, 'alice/perm')).some((l) => l.kind === 'permanently_delete_tag'));
  });

  it('refuses anonymous callers (401), readers\' writes (403) and changes to a READ_ONLY repository (409)', async () => {
    const img = await pushImage(server, ALICE, 'alice/guarded', 'g', 'guarded');
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/guarded/permissions/user/bob', { role: 'read' })).status, 200);
    const writes: [string, string, unknown][] = [
      ['PUT', '/repository/alice/guarded/tag/g2', { manifest_digest: img.digest }],
      ['DELETE', '/repository/alice/guarded/tag/g', undefined],
      ['POST', '/repository/alice/guarded/tag/g/restore', { manifest_digest: img.digest }],
      ['POST', '/repository/alice/guarded/tag/g/expire', { manifest_digest: img.digest, is_alive: true }],
    ];
    assert.equal((await call(server, null, 'GET', '/repository/alice/guarded/tag/')).status, 401);
    assert.equal((await call(server, BOB, 'GET', '/repository/alice/guarded/tag/')).status, 200);
    for (const [method, path, body] of writes) {
      assert.equal((await call(server, null, method, path, body)).status, 401, `${method} ${path} anonymous`);
      const asBob = await call(server, BOB, method, path, body);
      assert.equal(asBob.status, 403, `${method} ${path} as reader: ${JSON.stringify(asBob.body)}`);
    }
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/guarded/changestate', { state: 'READ_ONLY' })).status, 200);
    for (const [method, path, body] of writes) {
      const res = await call(server, ALICE, method, path, body);
      assert.equal(res.status, 409, `${method} ${path} read-only: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error_message, /read_only/);
    }
    assert.equal((await call(server, ALICE, 'GET', '/repository/alice/guarded/tag/')).status, 200, 'reading stays allowed');
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/guarded/changestate', { state: 'NORMAL' })).status, 200);
    assert.deepEqual(await v2Tags(server, ALICE, 'alice/guarded'), ['g']);
  });
});

let tagCounter = 0;
function childTag(): string {
  return `child-${tagCounter++}`;
}

describe(`/api/v1 tags with the default configuration (${TEST_DB})`, function () {
  this.timeout(120_000);
  let server: TestServer;

  before(async () => {
    server = await startServer();
    await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
  });
  after(async () => server?.stop());

  it('offers the default time machine choices, two weeks unless changed', async () => {
    assert.equal((await call(server, ALICE, 'GET', '/user/')).body.tag_expiration_s, 1209600);
    for (const seconds of [0, 86400, 604800, 1209600, 2419200]) {
      const res = await call(server, ALICE, 'PUT', '/user/', { tag_expiration_s: seconds });
      assert.equal(res.status, 200, `${seconds}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.tag_expiration_s, seconds);
    }
    for (const seconds of [3600, 172800, 2419201]) {
      assert.equal((await call(server, ALICE, 'PUT', '/user/', { tag_expiration_s: seconds })).status, 400, String(seconds));
    }
  });

  it('does not serve permanent deletion, and moves an API expiration up to an hour after the tag\'s start', async () => {
    const img = await pushImage(server, ALICE, 'alice/defaults', 'd', 'defaults');
    const res = await call(server, ALICE, 'POST', '/repository/alice/defaults/tag/d/expire', { manifest_digest: img.digest, is_alive: true });
    assert.equal(res.status, 404);
    assert.match(res.body.error_message, /PERMANENTLY_DELETE_TAGS/);
    assert.equal((await call(server, ALICE, 'PUT', '/repository/alice/defaults/tag/d', { expiration: Math.floor(Date.now() / 1000) + 60 })).status, 201);
    const [tag] = (await call(server, ALICE, 'GET', '/repository/alice/defaults/tag/?specificTag=d')).body.tags;
    assert.ok(Math.abs(tag.end_ts - tag.start_ts - 3600) <= 1, JSON.stringify(tag));
    assert.equal(await v2Pull(server, ALICE, 'alice/defaults', 'd'), 200);
  });
});

describe(`permanently deleted tags and garbage collection (${TEST_DB})`, function () {
  this.timeout(120_000);
  let server: TestServer;

  before(async () => {
    // No grace period: what GC may take, it takes in this pass.
    server = await startServer({ config: { PERMANENTLY_DELETE_TAGS: true, GC_GRACE_SECONDS: 0 } });
    await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
  });
  after(async () => server?.stop());

  it('lets `slipway admin gc` collect permanently deleted history at once, and keeps history inside the window', async () => {
    const gone = await pushImage(server, ALICE, 'alice/gc', 'gone', 'gone');
    const kept = await pushImage(server, ALICE, 'alice/gc', 'kept', 'kept');
    for (const tag of ['gone', 'kept']) assert.equal((await call(server, ALICE, 'DELETE', `/repository/alice/gc/tag/${tag}`)).status, 204);
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/gc/tag/gone/expire', { manifest_digest: gone.digest })).status, 200);
    await server.cli('admin', 'gc');
    // The labels endpoint answers for a manifest only while the repository holds it.
    assert.equal((await call(server, ALICE, 'GET', `/repository/alice/gc/manifest/${gone.digest}/labels`)).status, 404);
    assert.equal((await call(server, ALICE, 'GET', `/repository/alice/gc/manifest/${kept.digest}/labels`)).status, 200);
    assert.equal((await call(server, ALICE, 'GET', '/repository/alice/gc/tag/?specificTag=gone')).body.tags.length, 0);
    assert.equal((await call(server, ALICE, 'POST', '/repository/alice/gc/tag/kept/restore', { manifest_digest: kept.digest })).status, 200);
    assert.equal(await v2Pull(server, ALICE, 'alice/gc', 'kept'), 200);
  });
});
