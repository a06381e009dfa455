// GitLab's documented push and tag-push payloads (fixtures/), with the right and wrong tokens.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { TEST_DB } from '../support/server.js';
import { fixture, startTriggerServer, type Activated, type Harness } from './trigger-harness.js';

const PUSH = fixture('gitlab-push.json');
const TAG_PUSH = fixture('gitlab-tag-push.json');

describe(`GitLab webhooks (${TEST_DB})`, function () {
  this.timeout(120_000);
  let h: Harness;
  let trigger: Activated;

  before(async () => {
    h = await startTriggerServer();
    trigger = await h.activated('gitlab', { tag_templates: ['${commit_info.author.username}-${commit_info.short_sha}'] });
  });
  after(async () => h?.stop());

  const send = (payload: unknown, token: string | null, extra: Record<string, string> = {}) => {
    const kind = (payload as { object_kind?: string }).object_kind;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-gitlab-event': kind === 'tag_push' ? 'Tag Push Hook' : 'Push Hook', ...extra };
    if (token !== null) headers['x-gitlab-token'] = token;
    return h.webhook(trigger.id, JSON.stringify(payload), headers);
  };

  it('builds the checked-out commit of a push, with its commit info from commits[]', async () => {
    const r = await send(PUSH, trigger.secret!);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'queued');
    const [build] = await h.builds(trigger.id);
    assert.equal(build.id, r.body.build_id);
    const m = build.trigger_metadata;
    assert.equal(m.commit, 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7');
    assert.equal(m.ref, 'refs/heads/master');
    assert.equal(m.default_branch, 'master');
    assert.equal(m.commit_info.message, 'fixed readme');
    assert.equal(m.commit_info.date, '2012-01-03T23:36:29+02:00');
    assert.equal(m.commit_info.url, 'http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7');
    // The commit's author is not the pusher (other email): named by the author's name, made a valid tag.
    assert.equal(m.commit_info.author.username, 'GitLab dev user');
    assert.deepEqual(build.tags, ['GitLab_dev_user-da15608', 'master', 'latest']);
    assert.deepEqual(build.trigger, { id: trigger.id, service: 'gitlab' });
  });

  it('knows the pusher as the author when the emails agree', async () => {
    const mine = structuredClone(PUSH);
    mine.commits[1].author.email = mine.user_email;
    const r = await send(mine, trigger.secret!);
    const build = (await h.builds(trigger.id)).find((b: any) => b.id === r.body.build_id);
    assert.deepEqual(build.trigger_metadata.commit_info.author, { username: 'jsmith', avatar_url: mine.user_avatar });
  });

  it('builds a tag push (no commits sent) tagged with the tag', async () => {
    const r = await send(TAG_PUSH, trigger.secret!);
    assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
    const build = (await h.builds(trigger.id)).find((b: any) => b.id === r.body.build_id);
    assert.equal(build.trigger_metadata.commit, '82b3d5ae55f7080f1e6022629cdb57bfae7cccc7');
    assert.equal(build.trigger_metadata.commit_info, undefined);
    // The template needs the author, whom a tag push does not name: dropped, as in Quay.
    assert.deepEqual(build.tags, ['v1.0.0']);
  });

  it('refuses a wrong token with 403 and a missing one with 401, building nothing', async () => {
    const before = (await h.builds(trigger.id)).length;
    const wrong = await send(PUSH, 'not-the-secret');
    assert.equal(wrong.status, 403, JSON.stringify(wrong.body));
    assert.match(wrong.body.error_message, /X-Gitlab-Token/);
    const missing = await send(PUSH, null);
    assert.equal(missing.status, 401);
    assert.equal((await h.builds(trigger.id)).length, before);
  });

  it('ignores empty pushes, deletions (zero or null checkout_sha) and other events', async () => {
    const before = (await h.builds(trigger.id)).length;
    const empty = { ...structuredClone(PUSH), commits: [], total_commits_count: 0 };
    const zero = { ...structuredClone(PUSH), after: '0'.repeat(40), checkout_sha: '0'.repeat(40), commits: [] };
    const nullSha = { ...structuredClone(TAG_PUSH), after: '0'.repeat(40), checkout_sha: null };
    for (const [payload, reason] of [[empty, /holds no commits/], [zero, /deletes refs\/heads\/master/], [nullSha, /deletes refs\/tags\/v1.0.0/]] as const) {
      const r = await send(payload, trigger.secret!);
      assert.equal(r.status, 200);
      assert.equal(r.body.status, 'ignored');
      assert.match(r.body.reason, reason);
    }
    const issue = await send({ object_kind: 'issue', object_attributes: {} }, trigger.secret!);
    assert.equal(issue.body.status, 'ignored');
    assert.equal((await h.builds(trigger.id)).length, before);
  });

  it('does not build a retried delivery (same Idempotency-Key) twice', async () => {
    const before = (await h.builds(trigger.id)).length;
    const key = randomUUID();
    const first = await send(PUSH, trigger.secret!, { 'idempotency-key': key });
    const retry = await send(PUSH, trigger.secret!, { 'idempotency-key': key });
    assert.equal(first.body.status, 'queued');
    assert.equal(retry.body.status, 'duplicate');
    assert.equal((await h.builds(trigger.id)).length, before + 1);
  });

  it('refuses a push payload lacking what a build needs, with 400 naming the field', async () => {
    const noRef = structuredClone(PUSH);
    delete noRef.ref;
    const r = await send(noRef, trigger.secret!);
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'ref');
    const notJson = await h.webhook(trigger.id, 'object_kind=push', { 'content-type': 'application/json', 'x-gitlab-token': trigger.secret! });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.field, 'body');
  });
});
