// A triggered build's notification events carry the trigger and its metadata, as the seed's
// build_queued payload shows (trigger_id, trigger_kind, trigger_metadata).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Webhooks } from '@octokit/webhooks';
import { createBuildQueue } from '../../buildman/queue.js';
import { listBuildEvents } from '../../buildman/build-events.js';
import { createKeys } from '../../src/auth/secret-key.js';
import { receivePush } from '../../triggers/receive-push.js';
import { activateTrigger, createTrigger } from '../../triggers/trigger-store.js';
import { openTestDb, type TestDb } from '../buildman/test-db.js';
import { TEST_DB } from '../support/server.js';

const require = createRequire(import.meta.url);
const EXAMPLES: { name: string; examples: any[] }[] = require('@octokit/webhooks-examples/api.github.com/index.json');
const PUSH = EXAMPLES.find((e) => e.name === 'push')!.examples.find((p) => p.ref === 'refs/heads/master' && p.head_commit);

describe(`trigger build events (${TEST_DB})`, function () {
  this.timeout(60_000);
  let t: TestDb;

  before(async () => {
    t = await openTestDb();
  });
  after(async () => t?.close());

  it('puts the trigger and its metadata in build_queued', async () => {
    const keys = createKeys('k'.repeat(40));
    const alice = Number((await t.db('accounts').where({ name: 'alice' }).first()).id);
    const created = await createTrigger(t.db, { repositoryId: t.repositoryId, service: 'github', config: { build_source: 'git@github.com:Codertocat/Hello-World.git' }, connectedUserId: alice, pullRobotId: null });
    await activateTrigger(t.db, keys, created.uuid, { config: created.config, connectedUserId: alice, pullRobotId: null, secret: 'shh', deployKey: { publicKey: 'p', privateKey: 'k' } });
    const queue = createBuildQueue(t.db, { maxAttempts: 1, site: { host: 'slipway.example.com', scheme: 'https' } });
    const body = JSON.stringify(PUSH);
    const headers = { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': await new Webhooks({ secret: 'shh' }).sign(body) };
    const answer = await receivePush({ db: t.db, keys, queue }, created.uuid, { headers, body: Buffer.from(body) });
    assert.equal(answer.status, 'queued');
    const events = await listBuildEvents(t.db, (answer as { build_id: string }).build_id);
    assert.equal(events[0]!.kind, 'build_queued');
    const p = events[0]!.payload;
    assert.equal(p.trigger_id, created.uuid);
    assert.equal(p.trigger_kind, 'github');
    assert.deepEqual(p.docker_tags, ['master', 'latest']);
    assert.equal(p.is_manual, false, 'a push is not a manual build');
    assert.equal(p.trigger_manual, false);
    const m = p.trigger_metadata as any;
    assert.equal(m.commit, PUSH.head_commit.id);
    assert.equal(m.ref, 'refs/heads/master');
    assert.equal(m.default_branch, 'master');
    assert.equal(m.git_url, 'git@github.com:Codertocat/Hello-World.git');
    assert.equal(m.commit_info.message, PUSH.head_commit.message);
    assert.equal(m.commit_info.author.username, 'Codertocat');
    await queue.cancel((answer as { build_id: string }).build_id);
  });
});
