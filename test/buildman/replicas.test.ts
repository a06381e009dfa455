// Two build-manager replicas on one PostgreSQL database, talking through Redis and then through
// PostgreSQL LISTEN/NOTIFY. Leases and sweeps are two minutes long here, so whatever happens
// within the test's timeout happened because an event crossed from one replica to the other.
import assert from 'node:assert/strict';
import { findBuild } from '../../buildman/build-model.js';
import { followLog, type FollowItem } from '../../buildman/log-follow.js';
import { TEST_DB } from '../support/server.js';
import { openTestDb, type TestDb } from './test-db.js';
import { buildRequest, waitFor } from './manager-harness.js';
import { GatedExecutor, type GatedStep } from './fixtures/gated-executor.js';
import { createReplica, type Replica } from './fixtures/replica.js';
import { openTransport, uniquePrefix } from './fixtures/transports.js';

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

async function otherRepository(t: TestDb): Promise<number> {
  const { namespace_id } = await t.db('repositories').where({ id: t.repositoryId }).first('namespace_id');
  const now = Date.now();
  const [row] = await t.db('repositories').insert({ namespace_id, name: 'other', visibility: 'private', created_at: now, updated_at: now }).returning('id');
  return Number(typeof row === 'object' ? (row as { id: number }).id : row);
}

const hang: GatedStep[] = [{ phase: 'building' }, { log: { type: 'plain', message: 'working' } }, { hang: true }];

for (const kind of ['redis', 'postgres'] as const) {
  describe(`two build-manager replicas over ${kind} (${TEST_DB})`, function () {
    this.timeout(30_000);
    let t: TestDb;
    // Every replica of one deployment shares the channel prefix; each test is a deployment of its own.
    let prefix: string;
    const replicas: Replica[] = [];
    before(function () {
      if (TEST_DB !== 'postgres') this.skip(); // replicas share one database, which only PostgreSQL serves to several servers; runs under SLIPWAY_TEST_DB=postgres
    });
    beforeEach(async () => {
      t = await openTestDb();
      prefix = uniquePrefix();
    });
    afterEach(async () => {
      for (const r of replicas.splice(0)) await r.close();
      await t?.close();
    });

    async function replica(name: string, exec: GatedExecutor, workerCount = 1): Promise<Replica> {
      const r = createReplica(t.db, exec, await openTransport(kind, prefix, t.uri), { workerId: name, workerCount });
      replicas.push(r);
      return r;
    }

    it('a watcher attached through replica A sees every line of a build run by replica B, in order, then the final phase', async () => {
      const halfway = deferred();
      const lines = (from: number) => Array.from({ length: 10 }, (_, i): GatedStep => ({ log: { type: 'plain', message: `line ${from + i}` } }));
      const execB = new GatedExecutor('b', () => [{ phase: 'building' }, ...lines(0), { until: halfway.promise }, ...lines(10), { phase: 'pushing' }]);
      const a = await replica('replica-a', new GatedExecutor('a', () => hang));
      const b = await replica('replica-b', execB);
      await b.scheduler.start();
      const build = await a.queue.enqueue(buildRequest(t.repositoryId));
      const got: FollowItem[] = [];
      for await (const item of followLog(t.db, a.logs, a.transport.logs, build.uuid)) {
        got.push(item);
        // B holds the second half until A's watcher has the first: the rest can only come live, through the transport.
        if (item.kind === 'line' && item.line.message === 'line 9') halfway.resolve();
      }
      assert.deepEqual(execB.started, [build.uuid], 'replica B ran the build');
      const seen = got.flatMap((i) => (i.kind === 'line' ? [i.line] : []));
      assert.deepEqual(seen, await b.logs.read(build.uuid), 'every stored line once, in order');
      assert.deepEqual(seen.filter((l) => l.message.startsWith('line ')).map((l) => l.message), Array.from({ length: 20 }, (_, i) => `line ${i}`));
      assert.deepEqual(seen.filter((l) => l.type === 'phase').map((l) => l.message), ['build-scheduled', 'building', 'pushing', 'complete']);
      assert.deepEqual(got.at(-1), { kind: 'end', phase: 'complete' });
    });

    it('a build enqueued on A starts on B at once when only B has a free slot', async () => {
      const execA = new GatedExecutor('a', () => hang);
      const execB = new GatedExecutor('b', () => hang);
      const a = await replica('replica-a', execA);
      await a.scheduler.start();
      const first = await a.queue.enqueue(buildRequest(t.repositoryId));
      await execA.whenStarted(first.uuid);
      const b = await replica('replica-b', execB);
      await b.scheduler.start();
      // Of another repository: a repository runs one build at a time, whatever the free slots.
      const second = await a.queue.enqueue(buildRequest(await otherRepository(t)));
      // B's only sweep ran at its start, before this build existed: the `available` event from A woke it.
      await execB.whenStarted(second.uuid);
      assert.deepEqual(execA.started, [first.uuid], 'A, whose one slot is taken, did not run it');
      await waitFor('the build to reach building', async () => (await findBuild(t.db, second.uuid))?.phase === 'building');
    });

    it('cancel on A stops the build running on B at once, and A\'s watcher sees it end cancelled', async () => {
      const execB = new GatedExecutor('b', () => hang);
      const a = await replica('replica-a', new GatedExecutor('a', () => hang));
      const b = await replica('replica-b', execB);
      await b.scheduler.start();
      const build = await a.queue.enqueue(buildRequest(t.repositoryId));
      await execB.whenStarted(build.uuid);
      await waitFor('the build to log on B', async () => (await b.logs.read(build.uuid)).some((l) => l.message === 'working'));
      const watcher = (async () => {
        const items: FollowItem[] = [];
        for await (const item of followLog(t.db, a.logs, a.transport.logs, build.uuid)) items.push(item);
        return items;
      })();
      await a.queue.cancel(build.uuid);
      // B renews its two-minute lease every 40 s: only the `cancelled` event can abort the build this soon.
      await waitFor('B to abort the build', async () => execB.aborted.includes(build.uuid));
      assert.equal((await findBuild(t.db, build.uuid))?.phase, 'cancelled');
      assert.deepEqual((await watcher).at(-1), { kind: 'end', phase: 'cancelled' });
      await waitFor('B\'s slot to be free again', async () => b.scheduler.running() === 0);
    });
  });
}
