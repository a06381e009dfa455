// GitHub's own example payloads (@octokit/webhooks-examples), signed with the trigger's secret the
// way GitHub signs them, against the real server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Webhooks } from '@octokit/webhooks';
import { TEST_DB } from '../support/server.js';
import { API, startTriggerServer, UNREACHABLE_SOURCE, type Activated, type Harness } from './trigger-harness.js';

const require = createRequire(import.meta.url);
const EXAMPLES: { name: string; examples: any[] }[] = require('@octokit/webhooks-examples/api.github.com/index.json');
const examples = (event: string) => EXAMPLES.find((e) => e.name === event)!.examples;
const PUSHES = examples('push');
const BRANCH_PUSH = PUSHES.find((p) => p.ref === 'refs/heads/master' && p.head_commit)!;
const TAG_PUSH = PUSHES.find((p) => p.ref.startsWith('refs/tags/') && p.head_commit)!;
const DELETION = PUSHES.find((p) => p.deleted === true)!;
const PING = examples('ping')[0];

describe(`GitHub webhooks (${TEST_DB})`, function () {
  this.timeout(120_000);
  let h: Harness;
  let trigger: Activated;

  before(async () => {
    h = await startTriggerServer();
    trigger = await h.activated('github', { tag_templates: ['${commit_info.short_sha}'] });
  });
  after(async () => h?.stop());

  async function send(t: Activated, event: string, payload: unknown, opts: { secret?: string | null; delivery?: string; tamper?: (s: string) => string } = {}) {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': opts.delivery ?? randomUUID() };
    const secret = opts.secret === undefined ? t.secret! : opts.secret;
    if (secret !== null) headers['x-hub-signature-256'] = await new Webhooks({ secret }).sign(body);
    return h.webhook(t.id, opts.tamper ? opts.tamper(body) : body, headers);
  }

  it('builds a signed branch push: the head commit, its metadata, templates, branch name and latest', async () => {
    const r = await send(trigger, 'push', BRANCH_PUSH);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'queued');
    assert.equal(r.body.commit, BRANCH_PUSH.head_commit.id);
    const [build] = await h.builds(trigger.id);
    assert.equal(build.id, r.body.build_id);
    assert.deepEqual(build.tags, [BRANCH_PUSH.head_commit.id.slice(0, 7), 'master', 'latest']);
    assert.deepEqual(build.trigger, { id: trigger.id, service: 'github' });
    assert.equal(build.manual_user, null);
    const m = build.trigger_metadata;
    assert.equal(m.commit, BRANCH_PUSH.head_commit.id);
    assert.equal(m.ref, 'refs/heads/master');
    assert.equal(m.default_branch, 'master');
    assert.equal(m.git_url, UNREACHABLE_SOURCE);
    assert.equal(m.commit_info.message, BRANCH_PUSH.head_commit.message);
    assert.equal(m.commit_info.url, BRANCH_PUSH.head_commit.url);
    assert.equal(m.commit_info.date, BRANCH_PUSH.head_commit.timestamp);
    assert.deepEqual(m.commit_info.author, { username: 'Codertocat', url: BRANCH_PUSH.sender.html_url, avatar_url: BRANCH_PUSH.sender.avatar_url });
  });

  it('builds a tag push tagged with the tag\'s name and no latest', async () => {
    const r = await send(trigger, 'push', TAG_PUSH);
    assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
    const build = (await h.builds(trigger.id)).find((b: any) => b.id === r.body.build_id);
    assert.deepEqual(build.tags, [TAG_PUSH.head_commit.id.slice(0, 7), 'simple-tag']);
    assert.equal(build.trigger_metadata.ref, 'refs/tags/simple-tag');
  });

  it('does not build a replayed delivery twice, even when the copies arrive together', async () => {
    const before = (await h.builds(trigger.id)).length;
    const delivery = randomUUID();
    const first = await send(trigger, 'push', BRANCH_PUSH, { delivery });
    assert.equal(first.body.status, 'queued');
    const replay = await send(trigger, 'push', BRANCH_PUSH, { delivery });
    assert.equal(replay.status, 200);
    assert.equal(replay.body.status, 'duplicate');
    assert.equal(replay.body.build_id, first.body.build_id);
    assert.equal((await h.builds(trigger.id)).length, before + 1);

    const racing = randomUUID();
    const answers = await Promise.all([1, 2, 3, 4].map(() => send(trigger, 'push', BRANCH_PUSH, { delivery: racing })));
    assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.body)));
    assert.equal(answers.filter((a) => a.body.status === 'queued').length, 1, JSON.stringify(answers.map((a) => a.body)));
    assert.equal((await h.builds(trigger.id)).length, before + 2);
  });

  it('refuses a bad signature with 403, an unsigned request with 401, a tampered body with 403, and builds nothing', async () => {
    const before = (await h.builds(trigger.id)).length;
    const bad = await send(trigger, 'push', BRANCH_PUSH, { secret: 'not-the-secret' });
    assert.equal(bad.status, 403, JSON.stringify(bad.body));
    assert.match(bad.body.error_message, /X-Hub-Signature-256/);
    const unsigned = await send(trigger, 'push', BRANCH_PUSH, { secret: null });
    assert.equal(unsigned.status, 401, JSON.stringify(unsigned.body));
    const tampered = await send(trigger, 'push', BRANCH_PUSH, { tamper: (s) => s.replace('Initial commit', 'Evil commit') });
    assert.equal(tampered.status, 403);
    const garbage = await h.webhook(trigger.id, JSON.stringify(BRANCH_PUSH), { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=zz' });
    assert.equal(garbage.status, 403);
    assert.equal((await h.builds(trigger.id)).length, before);
  });

  it('answers ping with 200, and acknowledges other events and branch deletions without building', async () => {
    const before = (await h.builds(trigger.id)).length;
    const ping = await send(trigger, 'ping', PING);
    assert.equal(ping.status, 200);
    assert.equal(ping.body.status, 'ignored');
    const deletion = await send(trigger, 'push', DELETION);
    assert.equal(deletion.status, 200);
    assert.equal(deletion.body.status, 'ignored');
    assert.match(deletion.body.reason, /deletes refs\/tags\/simple-tag/);
    const issue = await send(trigger, 'issues', examples('issues')[0]);
    assert.equal(issue.body.status, 'ignored');
    assert.equal((await h.builds(trigger.id)).length, before);
  });

  it('skips [skip build] commits and refs outside branchtag_regex with 200 and the reason', async () => {
    const before = (await h.builds(trigger.id)).length;
    const quiet = structuredClone(BRANCH_PUSH);
    quiet.head_commit.message = 'Update docs [skip build]';
    const r = await send(trigger, 'push', quiet);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'skipped');
    assert.match(r.body.reason, /\[skip build\]/);
    assert.equal((await h.builds(trigger.id)).length, before);

    const releases = await h.activated('github', { branchtag_regex: 'heads/release-.*|tags/v.*' });
    const outside = await send(releases, 'push', BRANCH_PUSH);
    assert.equal(outside.body.status, 'skipped');
    assert.match(outside.body.reason, /heads\/master does not match branchtag_regex/);
    assert.equal((await h.builds(releases.id)).length, 0);
  });

  it('accepts GitHub\'s form-encoded deliveries, signed over the form body', async () => {
    const form = new URLSearchParams({ payload: JSON.stringify(BRANCH_PUSH) }).toString();
    const signature = await new Webhooks({ secret: trigger.secret! }).sign(form);
    const r = await h.webhook(trigger.id, form, {
      'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': signature,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'queued');
  });

  it('refuses signed payloads that are not pushes GitHub would send, with 400 naming the field', async () => {
    const noEvent = await h.webhook(trigger.id, '{}', { 'content-type': 'application/json', 'x-hub-signature-256': await new Webhooks({ secret: trigger.secret! }).sign('{}') });
    assert.equal(noEvent.status, 400);
    assert.equal(noEvent.body.field, 'X-GitHub-Event');
    const notJson = await send(trigger, 'push', 'x', { tamper: () => 'not json' });
    assert.equal(notJson.status, 403, 'the signature covers the bytes sent');
    const broken = structuredClone(BRANCH_PUSH);
    delete broken.head_commit.id;
    const r = await send(trigger, 'push', broken);
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'head_commit.id');
  });

  it('refuses a disabled trigger with 400 and its reason, but only to a sender that signs', async () => {
    const t = await h.activated('github');
    await h.req('PUT', `${API}/trigger/${t.id}`, { json: { enabled: false } });
    const unsigned = await send(t, 'push', BRANCH_PUSH, { secret: null });
    assert.equal(unsigned.status, 401);
    const r = await send(t, 'push', BRANCH_PUSH);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.error_message, /disabled \(user_toggled\)/);
    assert.equal((await h.builds(t.id)).length, 0);
  });

  it('answers 404 for an unknown trigger and for one not activated yet', async () => {
    const unknown = await h.webhook(randomUUID(), '{}', { 'content-type': 'application/json' });
    assert.equal(unknown.status, 404);
    const created = await h.req('POST', `${API}/trigger/`, { json: { service: 'github', config: { build_source: UNREACHABLE_SOURCE } } });
    const inactive = await h.webhook(created.body.id, '{}', { 'content-type': 'application/json' });
    assert.equal(inactive.status, 404);
  });
});
