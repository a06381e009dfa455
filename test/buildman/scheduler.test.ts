import assert from 'node:assert/strict';
import { listBuildEvents } from '../../buildman/build-events.js';
import { TEST_DB } from '../support/server.js';
import { openTestDb, type TestDb } from './test-db.js';
import { happyScript, OK, ScriptedExecutor } from './scripted-executor.js';
import { buildRequest, createManager, waitFinal, waitPhase, type Manager } from './manager-harness.js';

describe(`buildman scheduler and runner (${TEST_DB})`, () => {
  let t: TestDb;
  let m: Manager | null;
  beforeEach(async () => {
    t = await openTestDb();
    m = null;
  });
  afterEach(async () => {
    await m?.scheduler.stop();
    await t.close();
  });

  it('runs a build through every phase, storing typed log lines and the events', async () => {
    const exec = new ScriptedExecutor(() => happyScript());
    m = createManager(t.db, exec);
    await m.scheduler.start();
    const b = await m.queue.enqueue(buildRequest(t.repositoryId, { tags: ['v1'], buildArgs: { A: '1' } }));
    const ended = await waitFinal(t.db, b.uuid);
    assert.equal(ended.phase, 'complete');
    assert.equal(ended.imageId, OK.status === 'complete' ? OK.imageId : '');
    const job = exec.started[0]!;
    assert.equal(job.repository, 'alice/app');
    assert.deepEqual(job.tags, ['v1']);
    assert.deepEqual(job.buildArgs, { A: '1' });
    assert.equal(job.pushCredentials.password, 'token-for-alice/app');
    const lines = await m.logs.read(b.uuid);
    assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i), 'seq runs 0, 1, 2, … without gaps');
    assert.deepEqual(lines.map((l) => [l.type, l.message]), [
      ['phase', 'build-scheduled'], ['phase', 'unpacking'], ['phase', 'pulling'], ['phase', 'building'],
      ['command', 'STEP 1/2: FROM alpine'], ['command', 'Step 2/2 : RUN echo hi'], ['plain', 'hi'],
      ['phase', 'pushing'], ['phase', 'complete'],
    ]);
    const kinds = (await listBuildEvents(t.db, b.uuid)).map((e) => e.kind);
    assert.deepEqual(kinds, ['build_queued', 'build_start', 'build_success']);
  });

  it('never runs more than ALLOWED_WORKER_COUNT builds at once, and waiting uses no attempt', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'building' }, { wait: 150 }], outcome: OK }));
    // One attempt each: a build that paid an attempt for waiting would end internalerror.
    m = createManager(t.db, exec, { workerCount: 1, maxAttempts: 1 });
    await m.scheduler.start();
    const builds = [];
    for (let i = 0; i < 3; i++) builds.push(await m.queue.enqueue(buildRequest(t.repositoryId)));
    for (const b of builds) assert.equal((await waitFinal(t.db, b.uuid)).phase, 'complete');
    assert.equal(exec.maxRunning, 1);
    assert.equal(exec.started.length, 3);
  });

  it('starts an enqueued build at once when a slot is free (no polling interval)', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [], outcome: OK }));
    m = createManager(t.db, exec);
    await m.scheduler.start();
    const t0 = Date.now();
    const b = await m.queue.enqueue(buildRequest(t.repositoryId));
    await waitFinal(t.db, b.uuid);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  });

  it('a build that fails because of its Dockerfile ends error at once, with the message, and is not retried', async () => {
    const exec = new ScriptedExecutor(() => ({
      steps: [{ phase: 'building' }, { log: { type: 'plain', message: 'STEP 2/2: RUN false' } }],
      outcome: { status: 'error', message: 'building at STEP "RUN false": exit status 1' },
    }));
    m = createManager(t.db, exec);
    await m.scheduler.start();
    const b = await m.queue.enqueue(buildRequest(t.repositoryId));
    const ended = await waitFinal(t.db, b.uuid);
    assert.equal(ended.phase, 'error');
    assert.equal(ended.error, 'building at STEP "RUN false": exit status 1');
    assert.equal(exec.started.length, 1);
    const lines = await m.logs.read(b.uuid);
    assert.ok(lines.some((l) => l.type === 'error' && l.message.includes('exit status 1')));
    assert.deepEqual(lines.at(-1), { ...lines.at(-1)!, type: 'phase', message: 'error' });
  });

  it('an executor failure is retried, then ends internalerror after max attempts', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'pulling' }], outcome: { status: 'internalerror', message: 'podman socket refused' } }));
    m = createManager(t.db, exec, { maxAttempts: 3 });
    await m.scheduler.start();
    const b = await m.queue.enqueue(buildRequest(t.repositoryId));
    const ended = await waitFinal(t.db, b.uuid);
    assert.equal(ended.phase, 'internalerror');
    assert.equal(exec.started.length, 3);
    const kinds = (await listBuildEvents(t.db, b.uuid)).map((e) => e.kind);
    assert.deepEqual(kinds, ['build_queued', 'build_failure']);
  });

  it('an executor that throws is an internal error, not a lost build', async () => {
    const exec = new ScriptedExecutor(() => {
      throw new Error('bug in executor');
    });
    m = createManager(t.db, exec, { maxAttempts: 2 });
    await m.scheduler.start();
    const b = await m.queue.enqueue(buildRequest(t.repositoryId));
    const ended = await waitFinal(t.db, b.uuid);
    assert.equal(ended.phase, 'internalerror');
    assert.match(ended.error ?? '', /bug in executor/);
  });

  it('cancel aborts the running executor at once and ends the build cancelled; watchers get the end', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'building' }, { log: { type: 'plain', message: 'working' } }, { hang: true }], outcome: OK }));
    m = createManager(t.db, exec);
    await m.scheduler.start();
    const b = await m.queue.enqueue(buildRequest(t.repositoryId));
    await waitPhase(t.db, b.uuid, 'building');
    const sub = m.pubsub.subscribe(b.uuid);
    const t0 = Date.now();
    await m.queue.cancel(b.uuid);
    let msg;
    do msg = await sub.next();
    while (msg.kind !== 'end');
    assert.deepEqual(msg, { kind: 'end', phase: 'cancelled' });
    const deadline = Date.now() + 2000;
    while (exec.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(exec.running, 0, 'the executor run was aborted');
    assert.ok(Date.now() - t0 < 2000);
    assert.equal((await waitFinal(t.db, b.uuid)).phase, 'cancelled');
    const kinds = (await listBuildEvents(t.db, b.uuid)).map((e) => e.kind);
    assert.deepEqual(kinds, ['build_queued', 'build_start', 'build_cancelled']);
  });

  it('a cancelled waiting build never runs', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ hang: true }], outcome: OK }));
    m = createManager(t.db, exec, { workerCount: 1 });
    await m.scheduler.start();
    const first = await m.queue.enqueue(buildRequest(t.repositoryId));
    const second = await m.queue.enqueue(buildRequest(t.repositoryId));
    await waitPhase(t.db, first.uuid, 'build-scheduled');
    await m.queue.cancel(second.uuid);
    await m.queue.cancel(first.uuid);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(exec.started.length, 1);
    assert.equal((await waitFinal(t.db, second.uuid)).phase, 'cancelled');
  });

  it('a graceful stop hands running builds back without using up an attempt', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'building' }, { hang: true }], outcome: OK }));
    m = createManager(t.db, exec, { maxAttempts: 1 });
    await m.scheduler.start();
    const b = await m.queue.enqueue(buildRequest(t.repositoryId));
    await waitPhase(t.db, b.uuid, 'building');
    await m.scheduler.stop();
    assert.equal((await waitPhase(t.db, b.uuid, 'waiting')).phase, 'waiting');
    const row = await t.db('build_queue').where({ build_uuid: b.uuid }).first();
    assert.equal(Number(row.attempts), 0);
    assert.equal(row.lease_owner, null);
    // The next server runs it to the end (one attempt allowed, none used).
    m = createManager(t.db, new ScriptedExecutor(() => ({ steps: [], outcome: OK })), { maxAttempts: 1 });
    await m.scheduler.start();
    assert.equal((await waitFinal(t.db, b.uuid)).phase, 'complete');
  });
});
