// A build's tags appear only in the transaction that completes it: a build cancelled or failed
// in the middle of its push leaves none of them, and its staging tag is ended in every case.
import assert from 'node:assert/strict';
import type { Executor, ExecutorEvents, ExecutorJob, ExecutorOutcome } from '../../executors/executor.js';
import { settleBuildTags } from '../../registry/metadata/build-tags.js';
import { moveTag } from '../../registry/metadata/tags.js';
import type { Db } from '../../src/db/index.js';
import { TEST_DB } from '../support/server.js';
import { buildRequest, createManager, useManagerFixture, waitFinal, waitFor } from './manager-harness.js';

const DIGEST = 'sha256:' + 'c'.repeat(64);

/** Stands in for the registry receiving the executor's push: the staging tag now names the manifest. */
type Ending = 'complete' | 'push-fails' | 'hang' | 'lands-after-cancel';

class PushingExecutor implements Executor {
  readonly name = 'pushing';
  pushed = false;
  constructor(private readonly db: Db, private readonly repositoryId: number, private readonly ending: Ending) {}
  async ping() {
    return true;
  }
  async run(job: ExecutorJob, events: ExecutorEvents, signal: AbortSignal): Promise<ExecutorOutcome> {
    events.phase('pushing');
    const push = () => this.db.transaction((tx) => moveTag(tx, this.repositoryId, job.tags[0]!, DIGEST));
    await push();
    this.pushed = true;
    if (this.ending === 'complete') return { status: 'complete', imageId: 'sha256:' + 'a'.repeat(64), manifestDigests: [DIGEST] };
    if (this.ending === 'push-fails') return { status: 'error', message: 'pushing the second tag failed' };
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    // A push request already on its way when the cancel came lands after it.
    if (this.ending === 'lands-after-cancel') await push();
    return { status: 'cancelled' };
  }
}

describe(`build tags are set only when a build completes (${TEST_DB})`, () => {
  const fx = useManagerFixture();

  async function aliveTags(): Promise<Record<string, string>> {
    const rows: { name: string; manifest_digest: string }[] = await fx.t.db('tags')
      .where({ repository_id: fx.t.repositoryId })
      .andWhere((w) => w.whereNull('lifetime_end').orWhere('lifetime_end', '>', Date.now()))
      .select('name', 'manifest_digest');
    return Object.fromEntries(rows.map((r) => [r.name, r.manifest_digest]));
  }

  beforeEach(async () => {
    // The manifest the executor "pushed"; the registry's settle refuses tags for a manifest it does not hold.
    await fx.t.db('manifests').insert({
      repository_id: fx.t.repositoryId, digest: DIGEST, media_type: 'application/vnd.oci.image.manifest.v1+json', size: 2,
      content: Buffer.from('{}'), created_at: Date.now(),
    });
  });

  async function run(ending: Ending) {
    const exec = new PushingExecutor(fx.t.db, fx.t.repositoryId, ending);
    fx.m = createManager(fx.t.db, exec, { tags: { settle: settleBuildTags } });
    await fx.m.scheduler.start();
    const b = await fx.m.queue.enqueue(buildRequest(fx.t.repositoryId, { tags: ['v1', 'latest'] }));
    return { b, exec };
  }

  it('a completed build gets every tag at once and its staging tag is ended', async () => {
    const { b } = await run('complete');
    assert.equal((await waitFinal(fx.t.db, b.uuid)).phase, 'complete');
    assert.deepEqual(await aliveTags(), { v1: DIGEST, latest: DIGEST });
    const lines = await fx.m!.logs.read(b.uuid);
    assert.ok(lines.some((l) => l.message === 'tagged v1, latest'), 'the log says which tags were set');
  });

  it('a Dockerfile\'s quay.expires-after label makes the build\'s tags expire', async () => {
    const manifest = await fx.t.db('manifests').where({ digest: DIGEST }).first('id');
    await fx.t.db('manifest_labels').insert({
      uuid: '33333333-3333-3333-3333-333333333333', manifest_id: manifest.id, key: 'quay.expires-after', value: '2h',
      media_type: 'text/plain', source_type: 'manifest', created_at: Date.now(),
    });
    const { b } = await run('complete');
    assert.equal((await waitFinal(fx.t.db, b.uuid)).phase, 'complete');
    const rows: { name: string; lifetime_start: number; lifetime_end: number | null }[] = await fx.t.db('tags')
      .where({ repository_id: fx.t.repositoryId }).whereIn('name', ['v1', 'latest']).select('name', 'lifetime_start', 'lifetime_end');
    assert.equal(rows.length, 2);
    for (const r of rows) assert.equal(Number(r.lifetime_end) - Number(r.lifetime_start), 2 * 3600_000, `${r.name} ends two hours after it starts`);
  });

  it('a build that fails after pushing leaves no tag', async () => {
    const { b } = await run('push-fails');
    assert.equal((await waitFinal(fx.t.db, b.uuid)).phase, 'error');
    assert.deepEqual(await aliveTags(), {});
  });

  it('a build cancelled during its push leaves no tag, even when the push lands after the cancel', async () => {
    for (const ending of ['hang', 'lands-after-cancel'] as const) {
      const { b, exec } = await run(ending);
      await waitFor('the push', async () => exec.pushed);
      assert.equal((await fx.m!.queue.cancel(b.uuid)).phase, 'cancelled');
      await waitFor(`no alive tag (${ending})`, async () => Object.keys(await aliveTags()).length === 0);
      await fx.m!.scheduler.stop();
      assert.deepEqual(await aliveTags(), {}, ending);
    }
  });

  it('a completed build whose manifest is not in the registry fails instead of tagging nothing', async () => {
    await fx.t.db('manifests').where({ digest: DIGEST }).delete();
    const { b } = await run('complete');
    const ended = await waitFinal(fx.t.db, b.uuid);
    assert.notEqual(ended.phase, 'complete');
    assert.match(ended.error ?? '', /not in the repository/);
    assert.deepEqual(await aliveTags(), {});
  });
});
