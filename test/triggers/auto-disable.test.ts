// Successive failures switch a trigger off, user errors and internal errors counted apart.
// The queue's own transitions end the builds here (claim, then fail or complete, as a runner
// does), so the counting is seen in the transaction that ends each build.
import assert from 'node:assert/strict';
import { createBuildQueue, type BuildQueue } from '../../buildman/queue.js';
import { DomainError } from '../../src/errors.js';
import { createKeys } from '../../src/auth/secret-key.js';
import { countTriggerOutcomes } from '../../triggers/auto-disable.js';
import { activateTrigger, createTrigger, findTrigger, setTriggerEnabled, type Trigger } from '../../triggers/trigger-store.js';
import { receivePush } from '../../triggers/receive-push.js';
import { triggerPushUser } from '../../triggers/index.js';
import { TOKEN_USER } from '../../triggers/webhook/custom-git.js';
import { openTestDb, type TestDb } from '../buildman/test-db.js';
import { TEST_DB } from '../support/server.js';

const keys = createKeys('a-test-secret-key-of-at-least-32-characters');
const SECRET = 'the-webhook-secret-of-this-trigger-000000';
const WORKER = 'test-worker';

describe(`auto-disabling triggers (${TEST_DB})`, function () {
  this.timeout(60_000);
  let t: TestDb;
  let queue: BuildQueue;
  let alice: number;

  before(async () => {
    t = await openTestDb();
    alice = Number((await t.db('accounts').where({ name: 'alice' }).first()).id);
    queue = createBuildQueue(t.db, {
      maxAttempts: 1, retryDelayMs: 0, site: { host: '127.0.0.1:8080', scheme: 'http' },
      onFinished: countTriggerOutcomes({ failures: 3, internalErrors: 2 }),
    });
  });
  after(async () => t?.close());

  async function newTrigger(): Promise<Trigger> {
    const created = await createTrigger(t.db, { repositoryId: t.repositoryId, service: 'custom-git', config: { build_source: 'ssh://git@127.0.0.1:1/app.git' }, connectedUserId: alice, pullRobotId: null });
    return activateTrigger(t.db, keys, created.uuid, {
      config: created.config, connectedUserId: alice, pullRobotId: null, secret: SECRET, deployKey: { publicKey: 'ssh-ed25519 AAAA test', privateKey: 'unused here' },
    });
  }

  /** A push through the real webhook path (custom git), as a post-receive hook sends it. */
  function push(trigger: Trigger, n: number) {
    const body = Buffer.from(JSON.stringify({ commit: n.toString(16).padStart(40, 'a'), ref: 'refs/heads/main', default_branch: 'main' }));
    const headers = { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from(`${TOKEN_USER}:${SECRET}`).toString('base64') };
    return receivePush({ db: t.db, keys, queue }, trigger.uuid, { headers, body });
  }

  /** Pushes once and ends that build the given way, as a runner would. */
  async function build(trigger: Trigger, n: number, end: 'complete' | 'error' | 'internalerror' | 'cancel'): Promise<void> {
    const answer = await push(trigger, n);
    assert.equal(answer.status, 'queued', JSON.stringify(answer));
    const claim = await queue.claimNext(WORKER, 60_000);
    assert.ok(claim);
    const uuid = claim.build.uuid;
    if (end === 'complete') assert.ok(await queue.complete(uuid, WORKER, { imageId: 'sha256:' + 'a'.repeat(64), manifestDigests: [] }));
    else if (end === 'cancel') await queue.cancel(uuid);
    else assert.ok(await queue.fail(uuid, WORKER, end, `it failed (${end})`));
  }

  const state = async (trigger: Trigger) => (await findTrigger(t.db, trigger.uuid))!;

  it('disables after the threshold of successive user errors, and the webhook then refuses with the reason', async () => {
    const tr = await newTrigger();
    await build(tr, 1, 'error');
    await build(tr, 2, 'error');
    let s = await state(tr);
    assert.equal(s.successiveFailureCount, 2);
    assert.equal(s.enabled, true);
    await build(tr, 3, 'error');
    s = await state(tr);
    assert.equal(s.enabled, false);
    assert.equal(s.disabledReason, 'successive_build_failures');
    await assert.rejects(push(tr, 4), (err: DomainError) => err.kind === 'invalid' && /disabled \(successive_build_failures\)/.test(err.message));
    assert.equal(await queue.pending(), 0, 'nothing was enqueued');
  });

  it('counts internal errors apart, with their own threshold', async () => {
    const tr = await newTrigger();
    await build(tr, 1, 'error');
    await build(tr, 2, 'internalerror');
    let s = await state(tr);
    assert.deepEqual([s.successiveFailureCount, s.successiveInternalErrorCount, s.enabled], [1, 1, true]);
    await build(tr, 3, 'internalerror');
    s = await state(tr);
    assert.equal(s.enabled, false);
    assert.equal(s.disabledReason, 'successive_build_internal_errors');
  });

  it('resets both counts on a success, and counts nothing for a cancelled build', async () => {
    const tr = await newTrigger();
    await build(tr, 1, 'error');
    await build(tr, 2, 'internalerror');
    await build(tr, 3, 'cancel');
    let s = await state(tr);
    assert.deepEqual([s.successiveFailureCount, s.successiveInternalErrorCount], [1, 1]);
    await build(tr, 4, 'complete');
    s = await state(tr);
    assert.deepEqual([s.successiveFailureCount, s.successiveInternalErrorCount, s.enabled], [0, 0, true]);
  });

  it('builds again once re-enabled, with the counts starting afresh', async () => {
    const tr = await newTrigger();
    await build(tr, 1, 'internalerror');
    await build(tr, 2, 'internalerror');
    assert.equal((await state(tr)).enabled, false);
    await setTriggerEnabled(t.db, tr.uuid, true, null);
    const s = await state(tr);
    assert.deepEqual([s.enabled, s.disabledReason, s.successiveFailureCount, s.successiveInternalErrorCount], [true, null, 0, 0]);
    // One more internal error does not switch it straight off again.
    await build(tr, 3, 'internalerror');
    assert.equal((await state(tr)).enabled, true);
  });

  it('has trigger builds push as the trigger\'s connected user', async () => {
    const tr = await newTrigger();
    await push(tr, 1);
    const claim = (await queue.claimNext(WORKER, 60_000))!;
    assert.equal(claim.build.manualUser, null);
    assert.equal(await triggerPushUser(t.db, claim.build), 'alice');
    await queue.cancel(claim.build.uuid);
  });
});
