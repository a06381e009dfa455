import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBuild } from '../../buildman/build-model.js';
import { TEST_DB } from '../support/server.js';
import { openTestDb, type TestDb } from './test-db.js';
import { OK, ScriptedExecutor } from './scripted-executor.js';
import { buildRequest, createManager, waitFinal, waitFor, type Manager } from './manager-harness.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'manager-process.js');

describe(`buildman restart recovery (${TEST_DB})`, () => {
  let t: TestDb;
  let child: ChildProcess | null;
  let m: Manager | null;
  beforeEach(async () => {
    t = await openTestDb();
    child = null;
    m = null;
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await m?.scheduler.stop();
    await t.close();
  });

  /** Three builds, one running in a manager process that is then SIGKILLed, two waiting. */
  async function killWithBuildsInFlight(workerId: string, leaseMs: number): Promise<string[]> {
    const site = createManager(t.db, new ScriptedExecutor(() => ({ steps: [], outcome: OK })));
    const uuids: string[] = [];
    for (let i = 0; i < 3; i++) uuids.push((await site.queue.enqueue(buildRequest(t.repositoryId))).uuid);
    child = spawn(process.execPath, [CHILD, t.uri, workerId, String(leaseMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Killed only once its log line is stored: the test then checks that line survives the retry.
    const running = await waitFor('a build to run in the child and log a line', async () => {
      for (const u of uuids) {
        if ((await findBuild(t.db, u))?.phase !== 'building') continue;
        if ((await site.logs.read(u)).some((l) => l.message === 'still building')) return u;
      }
      return null;
    });
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const phases = await Promise.all(uuids.map(async (u) => (await findBuild(t.db, u))?.phase));
    assert.deepEqual(phases.filter((p) => p === 'waiting').length, 2, `two builds wait: ${phases.join(', ')}`);
    return [running, ...uuids.filter((u) => u !== running)];
  }

  it('the restarted server (same worker id) retries the build it ran and runs the waiting ones', async () => {
    const [running, ...waiting] = await killWithBuildsInFlight('replica-a', 60_000);
    const exec = new ScriptedExecutor(() => ({ steps: [{ phase: 'building' }], outcome: OK }));
    m = createManager(t.db, exec, { workerCount: 1, workerId: 'replica-a' });
    await m.scheduler.start();
    for (const u of [running!, ...waiting]) assert.equal((await waitFinal(t.db, u)).phase, 'complete', `build ${u}`);
    const logs = await m.logs.read(running!);
    const scheduled = logs.filter((l) => l.type === 'phase' && l.message === 'build-scheduled').map((l) => l.data?.attempt);
    assert.deepEqual(scheduled, [1, 2], 'the killed run counted as an attempt and the build ran again');
    assert.ok(logs.some((l) => l.message === 'still building'), 'lines of the killed run are kept');
  });

  it('another replica picks the builds up once the dead worker\'s lease lapses', async () => {
    const [running, ...waiting] = await killWithBuildsInFlight('replica-a', 800);
    const exec = new ScriptedExecutor(() => ({ steps: [], outcome: OK }));
    m = createManager(t.db, exec, { workerCount: 1, workerId: 'replica-b' });
    await m.scheduler.start();
    for (const u of [running!, ...waiting]) assert.equal((await waitFinal(t.db, u)).phase, 'complete', `build ${u}`);
  });
});
