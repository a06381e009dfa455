import assert from 'node:assert/strict';
import { listBuildEvents } from '../../buildman/build-events.js';
import { stagingTag } from '../../buildman/build-model.js';
import { TEST_DB } from '../support/server.js';
import { happyScript, OK, ScriptedExecutor } from './scripted-executor.js';
import { buildRequest, createManager, useManagerFixture, waitFinal, waitPhase } from './manager-harness.js';

describe(`buildman scheduler and runner (${TEST_DB})`, () => {
  const fx = useManagerFixture();

  it('runs a build through every phase, storing typed log lines and the events', async () => {
    const exec = new ScriptedExecutor(() => happyScript());
    fx.m = createManager(fx.t.db, exec);
    await fx.m.scheduler.start();
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId, { tags: ['v1'], buildArgs: { A: '1' } }));
    const ended = await waitFinal(fx.t.db, b.uuid);
    assert.equal(ended.phase, 'complete');
    assert.equal(ended.imageId, OK.status === 'complete' ? OK.imageId : '');
    const job = exec.started[0]!;
    assert.equal(job.repository, 'alice/app');
    assert.deepEqual(job.tags, [stagingTag(b.uuid)], 'the executor pushes to the staging tag; v1 is set when the build completes');
    assert.deepEqual(job.buildArgs, { A: '1' });
    assert.equal(job.pushCredentials.password, 'token-for-alice/app');
    const lines = await fx.m.logs.read(b.uuid);
    assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i), 'seq runs 0, 1, 2, … without gaps');
    assert.deepEqual(lines.map((l) => [l.type, l.message]), [
      ['phase', 'build-scheduled'], ['phase', 'unpacking'], ['phase', 'pulling'], ['phase', 'building'],
      ['command', 'STEP 1/2: FROM alpine'], ['command', 'Step 2/2 : RUN echo hi'], ['plain', 'hi'],
      ['phase', 'pushing'], ['plain', 'tagged v1'], ['phase', 'complete'],
    ]);
    const kinds = (await listBuildEvents(fx.t.db, b.uuid)).map((e) => e.kind);
    assert.deepEqual(kinds, ['build_queued', 'build_start', 'build_success']);
  });

  it('never runs more than ALLOWED_WORKER_COUNT builds at once, and waiting uses no attempt', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'building' }, { wait: 150 }], outcome: OK }));
    // One attempt each: a build that paid an attempt for waiting would end internalerror.
    fx.m = createManager(fx.t.db, exec, { workerCount: 1, maxAttempts: 1 });
    await fx.m.scheduler.start();
    const builds = [];
    for (let i = 0; i < 3; i++) builds.push(await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId)));
    for (const b of builds) assert.equal((await waitFinal(fx.t.db, b.uuid)).phase, 'complete');
    assert.equal(exec.maxRunning, 1);
    assert.equal(exec.started.length, 3);
  });

  it('starts an enqueued build at once when a slot is free (no polling interval)', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [], outcome: OK }));
    fx.m = createManager(fx.t.db, exec);
    await fx.m.scheduler.start();
    const t0 = Date.now();
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    await waitFinal(fx.t.db, b.uuid);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  });

  it('a build that fails because of its Dockerfile ends error at once, with the message, and is not retried', async () => {
    const exec = new ScriptedExecutor(() => ({
      steps: [{ phase: 'building' }, { log: { type: 'plain', message: 'STEP 2/2: RUN false' } }],
      outcome: { status: 'error', message: 'building at STEP "RUN false": exit status 1' },
    }));
    fx.m = createManager(fx.t.db, exec);
    await fx.m.scheduler.start();
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    const ended = await waitFinal(fx.t.db, b.uuid);
    assert.equal(ended.phase, 'error');
    assert.equal(ended.error, 'building at STEP "RUN false": exit status 1');
    assert.equal(exec.started.length, 1);
    const lines = await fx.m.logs.read(b.uuid);
    assert.ok(lines.some((l) => l.type === 'error' && l.message.includes('exit status 1')));
    assert.deepEqual(lines.at(-1), { ...lines.at(-1)!, type: 'phase', message: 'error' });
  });

  it('an executor failure is retried, then ends internalerror after max attempts', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'pulling' }], outcome: { status: 'internalerror', message: 'podman socket refused' } }));
    fx.m = createManager(fx.t.db, exec, { maxAttempts: 3 });
    await fx.m.scheduler.start();
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    const ended = await waitFinal(fx.t.db, b.uuid);
    assert.equal(ended.phase, 'internalerror');
    assert.equal(exec.started.length, 3);
    const kinds = (await listBuildEvents(fx.t.db, b.uuid)).map((e) => e.kind);
    assert.deepEqual(kinds, ['build_queued', 'build_failure']);
  });

  it('an executor that throws is an internal error, not a lost build', async () => {
    const exec = new ScriptedExecutor(() => {
      throw new Error('bug in executor');
    });
    fx.m = createManager(fx.t.db, exec, { maxAttempts: 2 });
    await fx.m.scheduler.start();
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    const ended = await waitFinal(fx.t.db, b.uuid);
    assert.equal(ended.phase, 'internalerror');
    assert.match(ended.error ?? '', /bug in executor/);
  });

  it('cancel aborts the running executor at once and ends the build cancelled; watchers get the end', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'building' }, { log: { type: 'plain', message: 'working' } }, { hang: true }], outcome: OK }));
    fx.m = createManager(fx.t.db, exec);
    await fx.m.scheduler.start();
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    await waitPhase(fx.t.db, b.uuid, 'building');
    const sub = fx.m.pubsub.subscribe(b.uuid);
    await fx.m.queue.cancel(b.uuid);
    let msg;
    do msg = await sub.next();
    while (msg.kind !== 'end');
    assert.deepEqual(msg, { kind: 'end', phase: 'cancelled' });
    const deadline = Date.now() + 2000;
    while (exec.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(exec.running, 0, 'the executor run was aborted');
    assert.equal((await waitFinal(fx.t.db, b.uuid)).phase, 'cancelled');
    const kinds = (await listBuildEvents(fx.t.db, b.uuid)).map((e) => e.kind);
    assert.deepEqual(kinds, ['build_queued', 'build_start', 'build_cancelled']);
  });

  it('a build whose worker died on its last attempt ends internalerror, and its watchers get the end', async () => {
    const exec = new ScriptedExecutor(() => happyScript());
    fx.m = createManager(fx.t.db, exec, { maxAttempts: 1 });
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    // A worker elsewhere claims it and dies: its 1 ms lease lapses.
    assert.ok(await fx.m.queue.claimNext('dead-worker', 1));
    const sub = fx.m.pubsub.subscribe(b.uuid);
    await new Promise((r) => setTimeout(r, 20));
    await fx.m.scheduler.start(); // its first sweep finds the lapsed lease
    let msg;
    do msg = await sub.next();
    while (msg.kind !== 'end');
    assert.deepEqual(msg, { kind: 'end', phase: 'internalerror' });
    assert.equal((await fx.m.logs.read(b.uuid)).at(-1)?.message, 'internalerror', 'the log ends with the final phase');
    assert.equal(exec.started.length, 0, 'no attempt was left to run');
  });

  it('a cancelled waiting build never runs', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ hang: true }], outcome: OK }));
    fx.m = createManager(fx.t.db, exec, { workerCount: 1 });
    await fx.m.scheduler.start();
    const first = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    const second = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    await waitPhase(fx.t.db, first.uuid, 'build-scheduled');
    await fx.m.queue.cancel(second.uuid);
    await fx.m.queue.cancel(first.uuid);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(exec.started.length, 1);
    assert.equal((await waitFinal(fx.t.db, second.uuid)).phase, 'cancelled');
  });

  it('a graceful stop hands running builds back without using up an attempt', async () => {
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'building' }, { hang: true }], outcome: OK }));
    fx.m = createManager(fx.t.db, exec, { maxAttempts: 1 });
    await fx.m.scheduler.start();
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId));
    await waitPhase(fx.t.db, b.uuid, 'building');
    await fx.m.scheduler.stop();
    assert.equal((await waitPhase(fx.t.db, b.uuid, 'waiting')).phase, 'waiting');
    const row = await fx.t.db('build_queue').where({ build_uuid: b.uuid }).first();
    assert.equal(Number(row.attempts), 0);
    assert.equal(row.lease_owner, null);
    // The next server runs it to the end (one attempt allowed, none used).
    fx.m = createManager(fx.t.db, new ScriptedExecutor(() => ({ steps: [], outcome: OK })), { maxAttempts: 1 });
    await fx.m.scheduler.start();
    assert.equal((await waitFinal(fx.t.db, b.uuid)).phase, 'complete');
  });
});
