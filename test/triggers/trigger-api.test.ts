import assert from 'node:assert/strict';
import { TEST_DB } from '../support/server.js';
import { ALICE, API, BOB, startTriggerServer, UNREACHABLE_SOURCE, type Harness } from './trigger-harness.js';

describe(`trigger API (${TEST_DB})`, function () {
  this.timeout(120_000);
  let h: Harness;

  before(async () => {
    h = await startTriggerServer({ SERVER_HOSTNAME: 'slipway.example.com', PREFERRED_URL_SCHEME: 'https' });
    // bob may read alice/app but not administer it.
    await h.server.cli('admin', 'grant', 'alice/app', 'bob', 'read');
    await h.server.cli('admin', 'create-robot', 'alice+puller');
    await h.server.cli('admin', 'create-robot', 'bob+puller');
  });
  after(async () => h?.stop());

  it('creates a trigger in Quay\'s shape, inactive until activated', async () => {
    const r = await h.req('POST', `${API}/trigger/`, { json: { service: 'custom-git', config: { build_source: UNREACHABLE_SOURCE, dockerfile_path: '/Dockerfile', context: '/' } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(r.body.id, /^[0-9a-f-]{36}$/);
    assert.equal(r.headers.get('location'), `${API}/trigger/${r.body.id}`);
    for (const k of ['id', 'service', 'is_active', 'build_source', 'repository_url', 'config', 'can_invoke', 'enabled', 'disabled_reason', 'pull_robot']) assert.ok(k in r.body, `the view has ${k}`);
    assert.equal(r.body.service, 'custom-git');
    assert.equal(r.body.is_active, false);
    assert.equal(r.body.enabled, true);
    assert.equal(r.body.connected_user, 'alice');
    assert.equal(r.body.config.credentials, undefined, 'no credentials before activation');
  });

  it('activates custom git: webhook URL with $token credentials, an OpenSSH deploy key, no secret in clear beside the URL', async () => {
    const created = await h.req('POST', `${API}/trigger/`, { json: { service: 'custom-git', config: { build_source: UNREACHABLE_SOURCE } } });
    const r = await h.req('POST', `${API}/trigger/${created.body.id}/activate`, { json: { config: { build_source: UNREACHABLE_SOURCE, tag_templates: ['${commit_info.short_sha}'] } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.is_active, true);
    const url = new URL(r.body.webhook_url);
    assert.equal(url.protocol, 'https:');
    assert.equal(url.host, 'slipway.example.com');
    assert.equal(decodeURIComponent(url.username), '$token');
    assert.ok(url.password.length >= 32, 'a long secret');
    assert.equal(url.pathname, `/webhooks/push/trigger/${created.body.id}`);
    assert.match(r.body.public_key, /^ssh-(ed25519|rsa) AAAA\S+/);
    assert.equal(r.body.secret, undefined, 'custom git carries its secret in the URL');
    assert.deepEqual(r.body.config.credentials.map((c: any) => c.name), ['SSH Public Key', 'Webhook Endpoint URL']);
    assert.deepEqual(r.body.config.tag_templates, ['${commit_info.short_sha}']);
    // The view shows the same credentials again ("View Credentials").
    const again = await h.req('GET', `${API}/trigger/${created.body.id}`);
    assert.equal(again.body.config.credentials[1].value, r.body.webhook_url);
    assert.equal(again.body.config.credentials[0].value, r.body.public_key);
  });

  it('activates github and gitlab with a secret to paste into the webhook settings', async () => {
    for (const service of ['github', 'gitlab']) {
      const a = await h.activated(service);
      assert.equal(a.webhook_url, `https://slipway.example.com/webhooks/push/trigger/${a.id}`);
      assert.ok(typeof a.secret === 'string' && a.secret.length >= 32);
      assert.deepEqual(a.config.credentials.map((c: any) => c.name), ['SSH Public Key', 'Webhook Endpoint URL', 'Webhook Secret']);
    }
  });

  it('refuses a second activation with 409', async () => {
    const a = await h.activated('custom-git');
    const r = await h.req('POST', `${API}/trigger/${a.id}/activate`, { json: {} });
    assert.equal(r.status, 409, JSON.stringify(r.body));
  });

  it('refuses bad trigger configs with 400 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ service: 'bitbucket', config: {} }, 'service'],
      [{ config: {} }, 'service'],
      [{ service: 'github', config: { tag_templates: ['${commit_info.nope}'] } }, 'config.tag_templates.0'],
      [{ service: 'github', config: { tag_templates: ['v-${commit'] } }, 'config.tag_templates.0'],
      [{ service: 'github', config: { tag_templates: ['${}'] } }, 'config.tag_templates.0'],
      [{ service: 'github', config: { branchtag_regex: 'heads/(' } }, 'config.branchtag_regex'],
      [{ service: 'github', config: { build_source: 'file:///etc' } }, 'config.build_source'],
      [{ service: 'github', config: { dockerfile_path: '/sub/Dockerfile', context: '/other' } }, 'config.dockerfile_path'],
      [{ service: 'github', config: { context: '../up' } }, 'config.context'],
      [{ service: 'github', config: { colour: 'blue' } }, 'config'],
      [{ service: 'github', config: {}, pull_robot: 'alice+nobody' }, 'pull_robot'],
    ];
    for (const [json, field] of cases) {
      const r = await h.req('POST', `${API}/trigger/`, { json });
      assert.equal(r.status, 400, `${JSON.stringify(json)} → ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error_type, 'invalid_request');
      assert.ok(r.body.field === field || r.body.field?.startsWith(field), `${JSON.stringify(json)} names ${field}, got ${r.body.field}: ${r.body.error_message}`);
    }
    const unknown = await h.req('POST', `${API}/trigger/`, { json: { service: 'github', config: { tag_templates: ['${commit_info.nope}'] } } });
    assert.match(unknown.body.error_message, /unknown variable \$\{commit_info\.nope\}/);
    const stray = await h.req('POST', `${API}/trigger/`, { json: { service: 'github', config: { colour: 'blue' } } });
    assert.match(stray.body.error_message, /colour/);
  });

  it('refuses activation without build_source, and a pull robot of a namespace the caller does not administer', async () => {
    const created = await h.req('POST', `${API}/trigger/`, { json: { service: 'gitlab' } });
    const r = await h.req('POST', `${API}/trigger/${created.body.id}/activate`, { json: {} });
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'config.build_source');
    const robot = await h.req('POST', `${API}/trigger/${created.body.id}/activate`, { json: { config: { build_source: UNREACHABLE_SOURCE }, pull_robot: 'bob+puller' } });
    // A refusal of the policy (Quay's 403), still naming the field.
    assert.equal(robot.status, 403);
    assert.equal(robot.body.field, 'pull_robot');
    const ok = await h.req('POST', `${API}/trigger/${created.body.id}/activate`, { json: { config: { build_source: UNREACHABLE_SOURCE }, pull_robot: 'alice+puller' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.pull_robot, { name: 'alice+puller', kind: 'user', is_robot: true });
  });

  it('needs repository admin: 401 for nobody, 403 for a reader, 404 for an unknown trigger', async () => {
    const a = await h.activated('custom-git');
    assert.equal((await h.req('GET', `${API}/trigger/`, { who: null })).status, 401);
    assert.equal((await h.req('GET', `${API}/trigger/`, { who: BOB })).status, 403);
    assert.equal((await h.req('GET', `${API}/trigger/${a.id}`, { who: BOB })).status, 403);
    assert.equal((await h.req('POST', `${API}/trigger/${a.id}/start`, { who: BOB, json: { commit_sha: 'a'.repeat(40) } })).status, 403);
    assert.equal((await h.req('DELETE', `${API}/trigger/${a.id}`, { who: BOB })).status, 403);
    assert.equal((await h.req('GET', `${API}/trigger/00000000-0000-0000-0000-000000000000`)).status, 404);
    assert.equal((await h.req('GET', `${API}/trigger/not-a-uuid`)).status, 404);
  });

  it('lists the repository\'s triggers', async () => {
    const r = await h.req('GET', `${API}/trigger/`, { who: ALICE });
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body.triggers) && r.body.triggers.length >= 4);
    assert.ok(r.body.triggers.every((t: any) => ['github', 'gitlab', 'custom-git'].includes(t.service)));
  });

  it('disables with a reason, re-enables, and refuses a bad toggle body', async () => {
    const a = await h.activated('custom-git');
    const off = await h.req('PUT', `${API}/trigger/${a.id}`, { json: { enabled: false } });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.enabled, false);
    assert.equal(off.body.disabled_reason, 'user_toggled');
    const start = await h.req('POST', `${API}/trigger/${a.id}/start`, { json: { commit_sha: 'a'.repeat(40) } });
    assert.equal(start.status, 400);
    assert.match(start.body.error_message, /disabled \(user_toggled\)/);
    const on = await h.req('PUT', `${API}/trigger/${a.id}`, { json: { enabled: true } });
    assert.equal(on.body.enabled, true);
    assert.equal(on.body.disabled_reason, null);
    assert.equal((await h.req('PUT', `${API}/trigger/${a.id}`, { json: { enabled: 'yes' } })).status, 400);
    assert.equal((await h.req('PUT', `${API}/trigger/${a.id}`, { json: {} })).status, 400);
  });

  it('runs now by commit_sha: 201, the build carries the trigger, its metadata and the rendered tags', async () => {
    const a = await h.activated('custom-git', { tag_templates: ['sha-${commit_info.short_sha}'] });
    const sha = 'c0ffee'.padEnd(40, '0');
    const r = await h.req('POST', `${API}/trigger/${a.id}/start`, { json: { commit_sha: sha } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.headers.get('location'), `${API}/build/${r.body.id}`);
    assert.deepEqual(r.body.trigger, { id: a.id, service: 'custom-git' });
    assert.deepEqual(r.body.trigger_metadata, { commit: sha, git_url: UNREACHABLE_SOURCE });
    assert.deepEqual(r.body.tags, ['sha-c0ffee0']);
    assert.equal(r.body.manual_user, 'alice');
    assert.equal(r.body.display_name, 'c0ffee0');
    const builds = await h.builds(a.id);
    assert.deepEqual(builds.map((b: any) => b.id), [r.body.id]);
  });

  it('runs now with a commit and its ref: tags from the ref', async () => {
    const a = await h.activated('github');
    const sha = 'b'.repeat(40);
    const r = await h.req('POST', `${API}/trigger/${a.id}/start`, { json: { commit_sha: sha, refs: { kind: 'tag', name: 'v2.0' } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.trigger_metadata.ref, 'refs/tags/v2.0');
    assert.deepEqual(r.body.tags, ['v2.0']);
  });

  it('refuses run-now requests that name nothing, or the wrong things', async () => {
    const a = await h.activated('custom-git');
    const cases: [unknown, string][] = [
      [{}, 'commit_sha'],
      [{ commit_sha: 'xyz' }, 'commit_sha'],
      [{ refs: { kind: 'note', name: 'x' } }, 'refs.kind'],
      [{ branch_name: 'has space' }, 'branch_name'],
      [{ surprise: 1 }, 'surprise'],
    ];
    for (const [json, field] of cases) {
      const r = await h.req('POST', `${API}/trigger/${a.id}/start`, { json });
      assert.equal(r.status, 400, `${JSON.stringify(json)} → ${r.status}`);
      assert.equal(r.body.field, field, `${JSON.stringify(json)}: ${r.body.error_message}`);
    }
    // A branch is resolved on the git server; this one cannot be reached, and the answer says so.
    const unreachable = await h.req('POST', `${API}/trigger/${a.id}/start`, { json: { branch_name: 'main' } });
    assert.equal(unreachable.status, 400, JSON.stringify(unreachable.body));
    assert.equal(unreachable.body.field, 'branch_name');
    assert.match(unreachable.body.error_message, /cannot resolve refs\/heads\/main/);
  });

  it('refuses run-now on a trigger that is not activated', async () => {
    const created = await h.req('POST', `${API}/trigger/`, { json: { service: 'custom-git', config: { build_source: UNREACHABLE_SOURCE } } });
    const r = await h.req('POST', `${API}/trigger/${created.body.id}/start`, { json: { commit_sha: 'a'.repeat(40) } });
    assert.equal(r.status, 400);
    assert.match(r.body.error_message, /not activated/);
  });

  it('deletes a trigger: 204, then 404, its webhook 404, and its builds stay', async () => {
    const a = await h.activated('custom-git');
    const started = await h.req('POST', `${API}/trigger/${a.id}/start`, { json: { commit_sha: 'd'.repeat(40) } });
    assert.equal(started.status, 201);
    const del = await h.req('DELETE', `${API}/trigger/${a.id}`);
    assert.equal(del.status, 204);
    assert.equal((await h.req('GET', `${API}/trigger/${a.id}`)).status, 404);
    const hook = await h.webhook(a.id, '{}', { 'content-type': 'application/json' });
    assert.equal(hook.status, 404);
    const build = await h.req('GET', `${API}/build/${started.body.id}`);
    assert.equal(build.status, 200);
    assert.equal(build.body.trigger.id, a.id);
  });

  it('records the trigger changes in the usage logs', async () => {
    const r = await h.req('GET', '/api/v1/repository/alice/app/logs');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const kinds = new Set(r.body.logs.map((l: any) => l.kind));
    for (const k of ['setup_repo_trigger', 'toggle_repo_trigger', 'delete_repo_trigger']) assert.ok(kinds.has(k), `logged ${k}`);
  });
});
