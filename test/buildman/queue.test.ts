import assert from 'node:assert/strict';
import { createBuildQueue, type BuildQueue, type BuildRequest } from '../../buildman/queue.js';
import { findBuild } from '../../buildman/build-model.js';
import { listBuildEvents } from '../../buildman/build-events.js';
import { openTestDb, type TestDb } from './test-db.js';
import { TEST_DB } from '../support/server.js';
import type { DomainError } from '../../src/errors.js';

const SITE = { host: 'registry.example:8080', scheme: 'http' as const };

describe(`buildman queue (${TEST_DB})`, () => {
  let t: TestDb;
  let clock: number;
  let queue: BuildQueue;
  const LEASE = 10_000;

  const request = (over: Partial<BuildRequest> = {}): BuildRequest => ({
    repositoryId: t.repositoryId, tags: ['latest'], displayName: 'upload', source: { kind: 'archive', path: '/tmp/x.tar' },
    manualUser: 'alice', dockerfilePath: 'Dockerfile', context: '', ...over,
  });

  /** Another repository of alice's: builds of different repositories may run at once. */
  async function repo(name: string): Promise<number> {
    const ns = await t.db('repositories').where({ id: t.repositoryId }).first('namespace_id');
    const [row] = await t.db('repositories').insert({ namespace_id: ns.namespace_id, name, visibility: 'private', created_at: 1, updated_at: 1 }).returning('id');
    return Number(typeof row === 'object' ? (row as { id: number }).id : row);
  }

  beforeEach(async () => {
    t = await openTestDb();
    clock = 1_000_000;
    queue = createBuildQueue(t.db, { maxAttempts: 3, retryDelayMs: 0, site: SITE, now: () => clock });
  });
  afterEach(async () => t.close());

  it('enqueue commits the build waiting, with a queue item and a build_queued event', async () => {
    const b = await queue.enqueue(request({ tags: ['v1', 'latest'] }));
    assert.equal(b.phase, 'waiting');
    assert.deepEqual(b.tags, ['v1', 'latest']);
    assert.equal(b.namespace, 'alice');
    assert.equal(await queue.pending(), 1);
    const events = await listBuildEvents(t.db, b.uuid);
    assert.deepEqual(events.map((e) => e.kind), ['build_queued']);
    assert.deepEqual(events[0]!.payload, {
      repository: 'alice/app', namespace: 'alice', name: 'app', docker_url: 'registry.example:8080/alice/app',
      homepage: `http://registry.example:8080/repository/alice/app?tab=builds&build=${b.uuid}`,
      build_id: b.uuid, docker_tags: ['v1', 'latest'], repo: 'app', is_manual: true, manual_user: 'alice',
    });
  });

  it('a trigger\'s "run now" is a manual build in build_queued; a push is not', async () => {
    const trigger = { id: 'trig-1', kind: 'custom-git', metadata: { commit: 'a'.repeat(40) } };
    const ranNow = await queue.enqueue(request({ trigger, manualUser: 'alice' }));
    const pushed = await queue.enqueue(request({ trigger, manualUser: null }));
    const queued = async (uuid: string) => (await listBuildEvents(t.db, uuid))[0]!.payload;
    assert.deepEqual([(await queued(ranNow.uuid)).is_manual, (await queued(ranNow.uuid)).trigger_manual], [true, true]);
    assert.deepEqual([(await queued(pushed.uuid)).is_manual, (await queued(pushed.uuid)).trigger_manual], [false, false]);
    assert.equal((await queued(pushed.uuid)).trigger_id, 'trig-1');
  });

  it('claims each build once, oldest first, and moves it to build-scheduled', async () => {
    const a = await queue.enqueue(request());
    clock++;
    const b = await queue.enqueue(request({ repositoryId: await repo('other') }));
    const c1 = await queue.claimNext('w1', LEASE);
    const c2 = await queue.claimNext('w2', LEASE);
    assert.equal(c1?.build.uuid, a.uuid);
    assert.equal(c2?.build.uuid, b.uuid);
    assert.equal(c1?.build.phase, 'build-scheduled');
    assert.equal(await queue.claimNext('w3', LEASE), null);
    assert.equal(await queue.renewLease(a.uuid, 'w1', LEASE), true);
    assert.equal(await queue.renewLease(a.uuid, 'w2', LEASE), false, 'only the holder renews');
  });

  it('concurrent claims never hand one build to two workers', async () => {
    for (let i = 0; i < 6; i++) await queue.enqueue(request({ repositoryId: await repo(`app-${i}`) }));
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => queue.claimNext(`w${i}`, LEASE)));
    const got = claims.filter((c) => c !== null).map((c) => c!.build.uuid);
    assert.equal(got.length, 6);
    assert.equal(new Set(got).size, 6);
  });

  it('refuses a build over the namespace\'s limit of waiting and running builds with 429, until one ends', async () => {
    const limited = createBuildQueue(t.db, { maxAttempts: 3, retryDelayMs: 0, site: SITE, now: () => clock, maxQueuedPerNamespace: 2 });
    const a = await limited.enqueue(request());
    await limited.enqueue(request({ repositoryId: await repo('second') }));
    await assert.rejects(limited.enqueue(request()), (err: DomainError) => err.kind === 'too_many' && /limit is 2/.test(err.message));
    assert.equal(await limited.pending(), 2, 'the refused build left nothing behind');
    assert.equal(await t.db('builds').count({ n: '*' }).first().then((r) => Number(r?.n)), 2);
    await limited.cancel(a.uuid);
    // One place is free again; of four racing enqueues exactly one takes it.
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => limited.enqueue(request())));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, results.map((r) => r.status).join(', '));
    assert.equal(await limited.pending(), 2);
  });

  it('runs one build per repository at a time, oldest first, even when claims race', async () => {
    const other = await repo('other');
    const first = await queue.enqueue(request());
    clock++;
    const second = await queue.enqueue(request());
    clock++;
    const elsewhere = await queue.enqueue(request({ repositoryId: other }));
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => queue.claimNext(`w${i}`, LEASE)));
    const got = claims.filter((c) => c !== null).map((c) => c!.build.uuid).sort();
    assert.deepEqual(got, [first.uuid, elsewhere.uuid].sort(), 'the second build of app waits while the first runs');
    const holder = claims.find((c) => c?.build.uuid === first.uuid)!;
    assert.equal(await queue.claimNext('late', LEASE), null);
    const w = claims.indexOf(holder);
    assert.equal(await queue.complete(first.uuid, `w${w}`, { imageId: 'sha256:' + 'a'.repeat(64), manifestDigests: [] }), true);
    assert.equal((await queue.claimNext('late', LEASE))?.build.uuid, second.uuid, 'once it ends, the next build of app runs');
  });

  it('a lapsed lease counts an attempt and requeues, until max attempts end it internalerror', async () => {
    const b = await queue.enqueue(request());
    for (let attempt = 1; attempt <= 3; attempt++) {
      const c = await queue.claimNext('w1', LEASE);
      assert.equal(c?.build.uuid, b.uuid, `attempt ${attempt} claims the build`);
      assert.equal(c?.attempts, attempt - 1);
      assert.equal(await queue.requeueExpired(), 0, 'a live lease is left alone');
      clock += LEASE + 1;
      assert.equal(await queue.requeueExpired(), 1);
      assert.equal(await queue.renewLease(b.uuid, 'w1', LEASE), false, 'the old worker lost the build');
    }
    const ended = await findBuild(t.db, b.uuid);
    assert.equal(ended?.phase, 'internalerror');
    assert.match(ended?.error ?? '', /lease lapsed/);
    assert.equal(await queue.pending(), 0);
    const kinds = (await listBuildEvents(t.db, b.uuid)).map((e) => e.kind);
    assert.deepEqual(kinds, ['build_queued', 'build_failure'], 'build_failure only once no retries remain');
  });

  it('fail(error) is final at once and never retried', async () => {
    const b = await queue.enqueue(request());
    await queue.claimNext('w1', LEASE);
    assert.deepEqual(await queue.fail(b.uuid, 'w1', 'error', 'RUN exit 1: exit status 1'), { final: true, phase: 'error' });
    assert.equal(await queue.claimNext('w1', LEASE), null);
    const ended = await findBuild(t.db, b.uuid);
    assert.equal(ended?.phase, 'error');
    assert.equal(ended?.error, 'RUN exit 1: exit status 1');
    const failure = (await listBuildEvents(t.db, b.uuid)).find((e) => e.kind === 'build_failure');
    assert.equal(failure?.payload.error_message, 'RUN exit 1: exit status 1');
    assert.equal(failure?.payload.build_name, 'upload');
  });

  it('fail(internalerror) retries until max attempts, then ends internalerror', async () => {
    const b = await queue.enqueue(request());
    for (let i = 1; i <= 2; i++) {
      await queue.claimNext('w1', LEASE);
      assert.deepEqual(await queue.fail(b.uuid, 'w1', 'internalerror', 'podman host down'), { final: false, attempts: i });
      assert.equal((await findBuild(t.db, b.uuid))?.phase, 'waiting');
    }
    await queue.claimNext('w1', LEASE);
    assert.deepEqual(await queue.fail(b.uuid, 'w1', 'internalerror', 'podman host down'), { final: true, phase: 'internalerror' });
    assert.equal((await findBuild(t.db, b.uuid))?.phase, 'internalerror');
  });

  it('waiting for a worker slot never consumes an attempt', async () => {
    const running = await queue.enqueue(request());
    const waiting = await queue.enqueue(request());
    await queue.claimNext('w1', LEASE);
    // The only worker is busy for many sweep periods; the waiting build is swept again and again.
    for (let i = 0; i < 10; i++) {
      clock += 1000;
      assert.equal(await queue.renewLease(running.uuid, 'w1', LEASE), true);
      await queue.requeueExpired();
    }
    const row = await t.db('build_queue').where({ build_uuid: waiting.uuid }).first();
    assert.equal(Number(row.attempts), 0);
    assert.equal((await findBuild(t.db, waiting.uuid))?.phase, 'waiting');
  });

  it('releaseOwner requeues what a restarted worker held, counting the attempt', async () => {
    const b = await queue.enqueue(request());
    await queue.claimNext('w1', LEASE);
    await queue.setPhase(b.uuid, 'w1', 'building');
    assert.equal(await queue.releaseOwner('w1'), 1);
    const c = await queue.claimNext('w1', LEASE);
    assert.equal(c?.build.uuid, b.uuid);
    assert.equal(c?.attempts, 1);
  });

  it('cancel ends a waiting or running build; the worker loses its lease; an ended build cannot be cancelled', async () => {
    const waiting = await queue.enqueue(request());
    const cancelled: string[] = [];
    queue.events.on('cancelled', (u) => cancelled.push(u));
    assert.equal((await queue.cancel(waiting.uuid)).phase, 'cancelled');
    const running = await queue.enqueue(request());
    await queue.claimNext('w1', LEASE);
    await queue.setPhase(running.uuid, 'w1', 'building');
    assert.equal((await queue.cancel(running.uuid)).phase, 'cancelled');
    assert.equal(await queue.renewLease(running.uuid, 'w1', LEASE), false);
    assert.equal(await queue.complete(running.uuid, 'w1', { imageId: 'x', manifestDigests: [] }), false, 'a late outcome changes nothing');
    assert.equal((await findBuild(t.db, running.uuid))?.phase, 'cancelled');
    await assert.rejects(queue.cancel(running.uuid), /already ended/);
    assert.deepEqual(cancelled, [waiting.uuid, running.uuid]);
    const kinds = (await listBuildEvents(t.db, running.uuid)).map((e) => e.kind);
    assert.deepEqual(kinds, ['build_queued', 'build_start', 'build_cancelled']);
  });

  it('complete records image id and manifest digests in the build and build_success', async () => {
    const b = await queue.enqueue(request());
    await queue.claimNext('w1', LEASE);
    assert.equal(await queue.complete(b.uuid, 'w1', { imageId: 'sha256:abc', manifestDigests: ['sha256:def'] }), true);
    const ended = await findBuild(t.db, b.uuid);
    assert.equal(ended?.phase, 'complete');
    assert.equal(ended?.imageId, 'sha256:abc');
    assert.deepEqual(ended?.manifestDigests, ['sha256:def']);
    const success = (await listBuildEvents(t.db, b.uuid)).find((e) => e.kind === 'build_success');
    assert.equal(success?.payload.image_id, 'sha256:abc');
    assert.deepEqual(success?.payload.manifest_digests, ['sha256:def']);
  });
});
