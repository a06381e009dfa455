import assert from 'node:assert/strict';
import { createKeys } from '../../src/auth/secret-key.js';
import { deliveredBuild, KEEP_DELIVERIES_MS, recordDelivery } from '../../triggers/deliveries.js';
import { activateTrigger, createTrigger, type Trigger } from '../../triggers/trigger-store.js';
import { receivePush } from '../../triggers/receive-push.js';
import { createBuildQueue } from '../../buildman/queue.js';
import { DomainError } from '../../src/errors.js';
import { fixture } from './trigger-harness.js';
import { openTestDb, type TestDb } from '../buildman/test-db.js';
import { TEST_DB } from '../support/server.js';

describe(`webhook delivery dedup (${TEST_DB})`, function () {
  this.timeout(60_000);
  let t: TestDb;
  let trigger: Trigger;
  let alice: number;
  const T0 = 1_700_000_000_000;
  const KEYS = createKeys('k'.repeat(40));

  before(async () => {
    t = await openTestDb();
    alice = Number((await t.db('accounts').where({ name: 'alice' }).first()).id);
    const created = await createTrigger(t.db, { repositoryId: t.repositoryId, service: 'github', config: { build_source: 'ssh://git@127.0.0.1:1/x.git' }, connectedUserId: alice, pullRobotId: null });
    trigger = await activateTrigger(t.db, KEYS, created.uuid, {
      config: created.config, connectedUserId: alice, pullRobotId: null, secret: 's', deployKey: { publicKey: 'p', privateKey: 'k' },
    });
  });
  after(async () => t?.close());

  it('lets one of several racing copies of a delivery build, and tells the others which build that is', async () => {
    const gitlab = await createTrigger(t.db, { repositoryId: t.repositoryId, service: 'gitlab', config: { build_source: 'ssh://git@127.0.0.1:1/x.git' }, connectedUserId: alice, pullRobotId: null });
    await activateTrigger(t.db, KEYS, gitlab.uuid, { config: gitlab.config, connectedUserId: alice, pullRobotId: null, secret: 'tok', deployKey: { publicKey: 'p', privateKey: 'k' } });
    const queue = createBuildQueue(t.db, { maxAttempts: 1, site: { host: 'h', scheme: 'http' } });
    const send = () => receivePush({ db: t.db, keys: KEYS, queue }, gitlab.uuid, {
      headers: { 'content-type': 'application/json', 'x-gitlab-token': 'tok', 'idempotency-key': 'raced' }, body: Buffer.from(JSON.stringify(fixture('gitlab-push.json'))),
    });
    const before = Number((await t.db('builds').count({ n: '*' }).first())!.n);
    const answers = await Promise.all([1, 2, 3, 4].map(() => send()));
    const queued = answers.filter((a) => a.status === 'queued') as { build_id: string }[];
    assert.equal(queued.length, 1, JSON.stringify(answers));
    for (const a of answers.filter((x) => x.status !== 'queued')) assert.deepEqual([a.status, (a as { build_id: string }).build_id], ['duplicate', queued[0]!.build_id]);
    assert.equal(Number((await t.db('builds').count({ n: '*' }).first())!.n), before + 1, 'one build, and no half-written one for the losers');
    assert.equal(await deliveredBuild(t.db, gitlab.uuid, 'raced'), queued[0]!.build_id);
    await queue.cancel(queued[0]!.build_id);
  });

  it('forgets deliveries older than a week', async () => {
    const build = async (uuid: string) => t.db('builds').insert({
      uuid, repository_id: t.repositoryId, phase: 'waiting', tags: '[]', display_name: 'x', source: '{}', dockerfile_path: 'Dockerfile', context: '/', started_at: T0, updated_at: T0,
    });
    await build('11111111-1111-1111-1111-111111111111');
    await build('22222222-2222-2222-2222-222222222222');
    await recordDelivery(t.db, trigger.uuid, 'old', '11111111-1111-1111-1111-111111111111', T0);
    await recordDelivery(t.db, trigger.uuid, 'new', '22222222-2222-2222-2222-222222222222', T0 + KEEP_DELIVERIES_MS + 1);
    assert.equal(await deliveredBuild(t.db, trigger.uuid, 'old'), undefined);
    assert.equal(await deliveredBuild(t.db, trigger.uuid, 'new'), '22222222-2222-2222-2222-222222222222');
  });

  it('gives the delivery back when the queue refuses the build (429), so that a redelivery builds', async () => {
    const gitlab = await createTrigger(t.db, { repositoryId: t.repositoryId, service: 'gitlab', config: { build_source: 'ssh://git@127.0.0.1:1/x.git' }, connectedUserId: alice, pullRobotId: null });
    await activateTrigger(t.db, KEYS, gitlab.uuid, { config: gitlab.config, connectedUserId: alice, pullRobotId: null, secret: 'tok', deployKey: { publicKey: 'p', privateKey: 'k' } });
    const queue = createBuildQueue(t.db, { maxAttempts: 1, site: { host: 'h', scheme: 'http' }, maxQueuedPerNamespace: 1 });
    const send = () => receivePush({ db: t.db, keys: KEYS, queue }, gitlab.uuid, {
      headers: { 'content-type': 'application/json', 'x-gitlab-token': 'tok', 'idempotency-key': 'retry-me' }, body: Buffer.from(JSON.stringify(fixture('gitlab-push.json'))),
    });
    const blocker = await queue.enqueue({ repositoryId: t.repositoryId, tags: ['x'], displayName: 'x', source: { kind: 'archive', path: '/nowhere' }, dockerfilePath: 'Dockerfile', context: '/' });
    await assert.rejects(send(), (err: DomainError) => err.kind === 'too_many');
    await queue.cancel(blocker.uuid);
    const retried = await send();
    assert.equal(retried.status, 'queued', JSON.stringify(retried));
    assert.equal((await send()).status, 'duplicate');
  });
});
