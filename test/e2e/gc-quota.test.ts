// Quotas end to end with skopeo: sizes in listings (shared layers counted once), the quota API
// and who may change it, a push refused over a Reject limit with the message skopeo shows, and
// the same push going through once deleted tags are collected.
import assert from 'node:assert/strict';
import path from 'node:path';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { basic, registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { parseSummary } from '../registry-gc/gc-cli.js';
import { layerOf, randomLayer, writeTinyImage, type TinyImage } from '../registry-gc/tiny-layout.js';

const ROOT = { user: 'root', password: 'root-password-1' };
const ALICE = { user: 'alice', password: 'alice-password-1' };
const BOB = { user: 'bob', password: 'bob-password-1' };
const CREDS = `${ALICE.user}:${ALICE.password}`;
const EXCEEDED = 'Quota has been exceeded on namespace';
const KIB = 1024;

const sizeOf = (...blobs: { digest: string; size: number }[]) => {
  const unique = new Map(blobs.map((b) => [b.digest, b.size]));
  return [...unique.values()].reduce((a, b) => a + b, 0);
};

describe(`quotas with skopeo (${TEST_DB})`, function () {
  this.timeout(600_000);
  let server: TestServer;
  let c: Clients;

  async function api(who: { user: string; password: string }, method: string, url: string, body?: unknown) {
    const res = await fetch(`${server.url}/api/v1${url}`, {
      method,
      headers: { authorization: basic(who.user, who.password), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }
  const push = (image: TinyImage, dest: string) => c.skopeo(['copy', '--retry-times', '0', '--dest-creds', CREDS, image.ref, `docker://${server.host}/${dest}`]);
  const quota = async () => (await api(ALICE, 'GET', '/organization/acme/quota')).json[0];

  before(async () => {
    server = await startServer({
      config: { FEATURE_QUOTA_MANAGEMENT: true, GC_GRACE_SECONDS: 0, FEATURE_GARBAGE_COLLECTION: false, DEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 50 * KIB },
    });
    await server.cli('admin', 'create-user', ROOT.user, '--email', 'root@example.com', '--password', ROOT.password, '--superuser');
    await server.cli('admin', 'create-user', ALICE.user, '--email', 'alice@example.com', '--password', ALICE.password);
    await server.cli('admin', 'create-user', BOB.user, '--email', 'bob@example.com', '--password', BOB.password);
    await server.cli('admin', 'create-org', 'acme', '--owner', ALICE.user);
    c = createClients([server.host]);
  });
  after(async () => {
    c?.dispose();
    await server?.stop();
  });

  it('lets only superusers change quotas and refuses bad limits', async () => {
    assert.equal((await api(ALICE, 'POST', '/organization/acme/quota', { limit_bytes: 10 * KIB * KIB })).status, 403, 'an org admin is no superuser');
    assert.equal((await api(BOB, 'GET', '/organization/acme/quota')).status, 404, 'outsiders do not see the organization');
    for (const bad of [{ limit_bytes: 0 }, { limit: 'ten gigs' }, {}, { limit_bytes: 1, limit: '1 GiB' }, { limit_bytes: 'lots' }]) {
      const r = await api(ROOT, 'POST', '/organization/acme/quota', bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)} → ${JSON.stringify(r.json)}`);
    }
    const created = await api(ROOT, 'POST', '/organization/acme/quota', { limit: '10 MiB' });
    assert.equal(created.status, 201);
    assert.equal(created.json, 'Created');
    assert.equal((await api(ROOT, 'POST', '/organization/acme/quota', { limit_bytes: 5 })).status, 409, 'one quota per namespace');

    const q = await quota();
    assert.deepEqual(
      { limit_bytes: q.limit_bytes, limit: q.limit, default_config: q.default_config, limits: q.limits, usage_bytes: q.usage_bytes },
      { limit_bytes: 10 * KIB * KIB, limit: '10.0 MiB', default_config: false, limits: [], usage_bytes: 0 },
    );
    const limits = `/organization/acme/quota/${q.id}/limit`;
    for (const bad of [{ type: 'Block', threshold_percent: 80 }, { type: 'Reject', threshold_percent: 0 }, { type: 'Reject', threshold_percent: 101 }, { type: 'Warning', threshold_percent: '80' }, { type: 'Reject' }]) {
      const r = await api(ROOT, 'POST', limits, bad);
      assert.equal(r.status, 400, `${JSON.stringify(bad)} → ${JSON.stringify(r.json)}`);
    }
    assert.equal((await api(ALICE, 'POST', limits, { type: 'Reject', threshold_percent: 100 })).status, 403);
    assert.equal((await api(ROOT, 'POST', limits, { type: 'Reject', threshold_percent: 100 })).status, 201);
    assert.equal((await api(ROOT, 'POST', limits, { type: 'Warning', threshold_percent: 60 })).status, 201);
    assert.equal((await api(ROOT, 'POST', limits, { type: 'Reject', threshold_percent: 100 })).status, 409, 'the same limit twice');
    const listed = (await api(ALICE, 'GET', limits)).json as { id: number; type: string; limit_percent: number }[];
    assert.deepEqual(listed.map((l) => [l.type, l.limit_percent]), [['Reject', 100], ['Warning', 60]]);
    const warning = listed.find((l) => l.type === 'Warning')!;
    assert.equal((await api(ALICE, 'DELETE', `${limits}/${warning.id}`)).status, 403);
    const changed = await api(ROOT, 'PUT', `${limits}/${warning.id}`, { threshold_percent: 50 });
    assert.deepEqual(changed.json, { id: warning.id, type: 'Warning', limit_percent: 50 });
    assert.equal((await api(ROOT, 'GET', `${limits}/999999`)).status, 404);
    assert.equal((await api(ROOT, 'GET', '/organization/acme/quota/999999')).status, 404);
  });

  it('counts shared layers once, refuses the push over the Reject limit, and takes it once GC reclaims space', async () => {
    const base = layerOf('etc/base.txt', Buffer.from('a base layer both images share\n'));
    const one = writeTinyImage(path.join(c.dir, 'one'), 'v1', [base, randomLayer(400 * KIB)]);
    const two = writeTinyImage(path.join(c.dir, 'two'), 'v1', [base, randomLayer(10 * KIB)]);
    const three = writeTinyImage(path.join(c.dir, 'three'), 'v1', [base, randomLayer(300 * KIB)]);
    mustSucceed('push one', await push(one, 'acme/one:v1'));
    mustSucceed('push two', await push(two, 'acme/two:v1'));

    const usage = sizeOf(...one.blobs, ...two.blobs);
    const q = await quota();
    assert.equal(q.usage_bytes, usage, 'the shared base is counted once');
    const repos = (await api(ALICE, 'GET', '/repository?namespace=acme')).json.repositories as { name: string; quota_report: unknown }[];
    assert.deepEqual(
      Object.fromEntries(repos.map((r) => [r.name, r.quota_report])),
      { one: { quota_bytes: sizeOf(...one.blobs), configured_quota: q.limit_bytes }, two: { quota_bytes: sizeOf(...two.blobs), configured_quota: q.limit_bytes } },
    );
    const org = (await api(ALICE, 'GET', '/organization/acme')).json;
    assert.deepEqual(org.quota_report, { quota_bytes: usage, configured_quota: q.limit_bytes });
    assert.equal(org.quotas[0].id, q.id);

    // Room for 100 KiB more: image three's 300 KiB layer crosses the Reject limit while it uploads.
    assert.equal((await api(ROOT, 'PUT', `/organization/acme/quota/${q.id}`, { limit_bytes: usage + 100 * KIB })).status, 200);
    const refused = await push(three, 'acme/three:v1');
    assert.notEqual(refused.code, 0, 'the push over the limit fails');
    assert.match(refused.stderr, /denied: Quota has been exceeded on namespace/);
    assert.equal((await quota()).usage_bytes, usage, 'a refused push adds nothing');
    const kinds = ((await api(ALICE, 'GET', '/organization/acme/quota/events')).json.events as { kind: string }[]).map((e) => e.kind);
    assert.ok(kinds.includes('quota_error') && kinds.includes('quota_warning'), `events: ${kinds}`);

    // Deleting a tag frees nothing until it is collected; the view says what collecting frees.
    const window = await api(ALICE, 'PUT', '/organization/acme', { tag_expiration_s: 0 });
    assert.equal(window.status, 200);
    const token = await registryToken(server, ALICE, 'repository:acme/one:pull,push,delete');
    assert.equal((await fetch(`${server.url}/v2/acme/one/manifests/v1`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 202);
    const before = await quota();
    assert.equal(before.usage_bytes, usage);
    assert.equal(before.reclaimable_bytes, sizeOf(...one.blobs.filter((b) => b.digest !== base.blob.digest)));
    const summary = parseSummary(await server.cli('admin', 'gc'));
    assert.ok(summary.manifests >= 1 && summary.bytesFreed >= before.reclaimable_bytes, JSON.stringify(summary));
    const after = await quota();
    assert.equal(after.usage_bytes, usage - before.reclaimable_bytes);
    assert.equal(after.reclaimable_bytes, 0);

    mustSucceed('the same push, now with room', await push(three, 'acme/three:v1'));
    assert.equal((await quota()).usage_bytes, sizeOf(...two.blobs, ...three.blobs));
  });

  it('refuses at upload start and at manifest PUT once the namespace is over, with the registry error body', async () => {
    const q = await quota();
    assert.equal((await api(ROOT, 'PUT', `/organization/acme/quota/${q.id}`, { limit_bytes: 1000 })).status, 200);
    const fresh = writeTinyImage(path.join(c.dir, 'fresh'), 'v1', [randomLayer(4 * KIB)]);
    const refused = await push(fresh, 'acme/fresh:v1');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /initiating layer upload[\s\S]*denied: Quota has been exceeded on namespace/);

    // Every blob is already in the repository, so only the manifest PUT can refuse this one.
    const token = await registryToken(server, ALICE, 'repository:acme/two:pull,push');
    const auth = { authorization: `Bearer ${token}` };
    const get = await fetch(`${server.url}/v2/acme/two/manifests/v1`, { headers: { ...auth, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const manifest = new Uint8Array(await get.arrayBuffer());
    const put = await fetch(`${server.url}/v2/acme/two/manifests/again`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
    assert.equal(put.status, 403);
    assert.deepEqual(await put.json(), { errors: [{ code: 'DENIED', message: EXCEEDED, detail: {} }] });
  });

  it('applies the system default reject limit to a namespace without a quota', async () => {
    const big = writeTinyImage(path.join(c.dir, 'big'), 'v1', [randomLayer(80 * KIB)]);
    const refused = await push(big, 'alice/big:v1');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /denied: Quota has been exceeded on namespace/);
    const small = writeTinyImage(path.join(c.dir, 'small'), 'v1', [randomLayer(4 * KIB)]);
    mustSucceed('a push under the default limit', await push(small, 'alice/small:v1'));
    const mine = (await api(ALICE, 'GET', '/user/quota')).json;
    assert.deepEqual(
      { limit_bytes: mine[0].limit_bytes, default_config: mine[0].default_config, usage_bytes: mine[0].usage_bytes },
      { limit_bytes: 50 * KIB, default_config: true, usage_bytes: small.blobs.reduce((n, b) => n + b.size, 0) },
    );
    await server.cli('admin', 'create-org', 'plain', '--owner', ALICE.user);
    const view = (await api(ALICE, 'GET', '/organization/plain/quota')).json;
    assert.deepEqual(
      { limit_bytes: view[0].limit_bytes, default_config: view[0].default_config, limits: view[0].limits },
      { limit_bytes: 50 * KIB, default_config: true, limits: [{ id: null, type: 'Reject', limit_percent: 100 }] },
    );
  });
});
