// Custom git: the seed's payload (Quay guide 7.7.2.2) POSTed to the webhook URL that activation
// hands out, credentials and all.
import assert from 'node:assert/strict';
import { TEST_DB } from '../support/server.js';
import { startTriggerServer, type Activated, type Harness } from './trigger-harness.js';

const SHA = '1c002dd4b536e7479fe34593e72e6c6c1819e53b';

/** The guide's example, with a full SHA. */
function payload(over: Record<string, unknown> = {}): any {
  return {
    commit: SHA,
    ref: 'refs/heads/master',
    default_branch: 'master',
    commit_info: {
      url: 'gitsoftware.com/repository/commits/1234567',
      message: 'initial commit',
      date: 'timestamp',
      author: { username: 'user', avatar_url: 'gravatar.com/user.png', url: 'gitsoftware.com/users/user' },
      committer: { username: 'committer', avatar_url: 'gravatar.com/committer.png', url: 'gitsoftware.com/users/committer' },
    },
    ...over,
  };
}

describe(`custom git webhooks (${TEST_DB})`, function () {
  this.timeout(120_000);
  let h: Harness;
  let trigger: Activated;

  before(async () => {
    h = await startTriggerServer();
    trigger = await h.activated('custom-git', { tag_templates: ['${committer.properties.username}-${parsed_ref.branch}'] });
  });
  after(async () => h?.stop());

  /** POSTs as a hook given the activation's URL would: its userinfo becomes Basic credentials. */
  function post(body: string, opts: { url?: string; contentType?: string | null } = {}) {
    const url = new URL(opts.url ?? trigger.webhook_url);
    const headers: Record<string, string> = {};
    if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
    if (url.username) headers.authorization = 'Basic ' + Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
    return h.webhook(trigger.id, body, headers);
  }

  it('builds the guide\'s payload POSTed to the activation\'s URL', async () => {
    const r = await post(JSON.stringify(payload()));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'queued');
    assert.deepEqual(r.body.tags, ['committer-master', 'master', 'latest']);
    const [build] = await h.builds(trigger.id);
    assert.equal(build.id, r.body.build_id);
    assert.deepEqual(build.trigger_metadata, { ...payload(), git_url: trigger.config.build_source });
    assert.deepEqual(build.trigger, { id: trigger.id, service: 'custom-git' });
  });

  it('accepts the minimal payload (no commit_info) and a short SHA', async () => {
    const r = await post(JSON.stringify({ commit: '1c002dd', ref: 'refs/tags/v3', default_branch: 'master' }));
    assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
    assert.deepEqual(r.body.tags, ['v3'], 'the template lacks a committer and a branch: dropped');
  });

  it('refuses a payload missing a required field with 400 naming the field', async () => {
    const before = (await h.builds(trigger.id)).length;
    const drop = (obj: any, pathTo: string[]) => {
      const copy = structuredClone(obj);
      let node = copy;
      for (const k of pathTo.slice(0, -1)) node = node[k];
      delete node[pathTo[pathTo.length - 1]!];
      return copy;
    };
    for (const field of ['commit', 'ref', 'default_branch', 'commit_info.url', 'commit_info.message', 'commit_info.date',
      'commit_info.author.username', 'commit_info.author.avatar_url', 'commit_info.author.url', 'commit_info.committer.username']) {
      const r = await post(JSON.stringify(drop(payload(), field.split('.'))));
      assert.equal(r.status, 400, `${field}: ${r.status}`);
      assert.equal(r.body.field, field);
      assert.match(r.body.error_message, new RegExp(`lacks the required field ${field.replace(/\./g, '\\.')}`));
    }
    const badRef = await post(JSON.stringify(payload({ ref: 'master' })));
    assert.equal(badRef.body.field, 'ref');
    const badSha = await post(JSON.stringify(payload({ commit: 'not-a-sha' })));
    assert.equal(badSha.body.field, 'commit');
    const notObject = await post('[1,2]');
    assert.equal(notObject.status, 400);
    const notJson = await post('{"commit":');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.field, 'body');
    assert.equal((await h.builds(trigger.id)).length, before);
  });

  it('requires Content-Type: application/json', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', null]) {
      const r = await post(JSON.stringify(payload()), { contentType });
      assert.equal(r.status, 400, `${contentType}: ${r.status}`);
      assert.equal(r.body.field, 'Content-Type');
    }
    const withCharset = await post(JSON.stringify(payload()), { contentType: 'application/json; charset=utf-8' });
    assert.equal(withCharset.body.status, 'queued');
  });

  it('refuses missing credentials with 401 and a Basic challenge, wrong ones with 403', async () => {
    const before = (await h.builds(trigger.id)).length;
    const url = new URL(trigger.webhook_url);
    const bare = `${url.protocol}//${url.host}${url.pathname}`;
    const none = await post(JSON.stringify(payload()), { url: bare });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
    const wrongSecret = new URL(trigger.webhook_url);
    wrongSecret.password = 'wrong';
    assert.equal((await post(JSON.stringify(payload()), { url: wrongSecret.toString() })).status, 403);
    const wrongUser = new URL(trigger.webhook_url);
    wrongUser.username = 'alice';
    assert.equal((await post(JSON.stringify(payload()), { url: wrongUser.toString() })).status, 403);
    assert.equal((await h.builds(trigger.id)).length, before);
  });

  it('skips [build skip] commits and refs outside branchtag_regex, answering 200 with the reason', async () => {
    const before = (await h.builds(trigger.id)).length;
    const quiet = payload();
    quiet.commit_info.message = 'tweak [build skip]';
    const r = await post(JSON.stringify(quiet));
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'skipped', reason: `the commit message of ${SHA.slice(0, 7)} says [build skip]` });
    assert.equal((await h.builds(trigger.id)).length, before);

    const mainOnly = await h.activated('custom-git', { branchtag_regex: 'heads/main' });
    const url = new URL(mainOnly.webhook_url);
    const auth = 'Basic ' + Buffer.from(`$token:${decodeURIComponent(url.password)}`).toString('base64');
    const other = await h.webhook(mainOnly.id, JSON.stringify(payload({ ref: 'refs/heads/dev' })), { 'content-type': 'application/json', authorization: auth });
    assert.equal(other.body.status, 'skipped');
    assert.match(other.body.reason, /heads\/dev does not match branchtag_regex heads\/main/);
    const main = await h.webhook(mainOnly.id, JSON.stringify(payload({ ref: 'refs/heads/main' })), { 'content-type': 'application/json', authorization: auth });
    assert.equal(main.body.status, 'queued');
  });
});
