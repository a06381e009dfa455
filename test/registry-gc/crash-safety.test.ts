// The collector's bookkeeping against states a kill or a second replica leaves behind, on a real
// database (SQLite or PostgreSQL per SLIPWAY_TEST_DB) and a real filesystem store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { claimBlob } from '../../registry/gc/blob-guard.js';
import { collectGarbage, type GcDeps } from '../../registry/gc/collector.js';
import { linkBlob } from '../../registry/metadata/blobs.js';
import type { BlobStore } from '../../registry/storage/blob-store.js';
import { createBlobStore } from '../../registry/storage/content-store.js';
import { createFilesystemDriver } from '../../registry/storage/filesystem-driver.js';
import { openTestDb, type TestDb } from '../buildman/test-db.js';
import { sha256 } from '../support/oci-layout.js';
import { REPO_ROOT, TEST_DB } from '../support/server.js';
import { parseSummary } from './gc-cli.js';

const execFileP = promisify(execFile);

const HOUR = 3600_000;

describe(`collector crash and replica safety (${TEST_DB})`, function () {
  this.timeout(120_000);
  let t: TestDb;
  let dir: string;
  let blobs: BlobStore;
  let deps: GcDeps;

  beforeEach(async () => {
    t = await openTestDb();
    dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-gc-store-'));
    blobs = createBlobStore(createFilesystemDriver(dir));
    deps = { db: t.db, blobs, graceSeconds: 3600, uploadExpirySeconds: 86_400 };
  });
  afterEach(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Bytes at their content address, with no database row: what a kill can leave. */
  async function placed(size = 1000): Promise<{ digest: string; size: number }> {
    const bytes = randomBytes(size);
    const digest = sha256(bytes);
    await blobs.putBlob(digest, bytes);
    return { digest, size };
  }

  it('finishes a deletion a killed pass decided but did not carry out', async () => {
    const blob = await placed();
    await t.db('blob_deletions').insert({ digest: blob.digest, size: blob.size, marked_at: Date.now() - HOUR });
    const summary = await collectGarbage(deps);
    assert.equal(summary.bytesFreed, blob.size);
    assert.equal(await blobs.statBlob(blob.digest), null);
    assert.equal(Number((await t.db('blob_deletions').count({ n: '*' }))[0]!.n), 0);
  });

  it('lets a push that claims the digest cancel a pending deletion, and keeps its bytes', async () => {
    const blob = await placed();
    await t.db('blob_deletions').insert({ digest: blob.digest, size: blob.size, marked_at: Date.now() });
    await claimBlob(t.db, blob.digest);
    assert.equal((await collectGarbage(deps)).bytesFreed, 0);
    assert.equal(await blobs.statBlob(blob.digest), blob.size);
    await linkBlob(t.db, t.repositoryId, blob.digest, blob.size);
    assert.equal((await collectGarbage(deps)).blobs, 0);
    assert.equal(await blobs.statBlob(blob.digest), blob.size, 'linked, the blob stays');
  });

  it('sweeps bytes a killed push placed but never linked, once its claim is past the grace period', async () => {
    const orphan = await placed();
    const recent = await placed();
    await t.db('blob_claims').insert([
      { digest: orphan.digest, claimed_at: Date.now() - 2 * HOUR },
      { digest: recent.digest, claimed_at: Date.now() },
    ]);
    const summary = await collectGarbage(deps);
    assert.equal(summary.orphans, 1);
    assert.equal(await blobs.statBlob(orphan.digest), null);
    assert.equal(await blobs.statBlob(recent.digest), recent.size, 'a push still inside its grace keeps its bytes');
  });

  it('collects a blob whose link went, but only past the grace period', async () => {
    const old = await placed();
    const fresh = await placed();
    await linkBlob(t.db, t.repositoryId, old.digest, old.size);
    await linkBlob(t.db, t.repositoryId, fresh.digest, fresh.size);
    await t.db('repo_blobs').where({ digest: old.digest }).update({ created_at: Date.now() - 2 * HOUR });
    await t.db('blobs').where({ digest: old.digest }).update({ created_at: Date.now() - 2 * HOUR });
    const summary = await collectGarbage(deps);
    assert.deepEqual([summary.links, summary.blobs, summary.bytesFreed], [1, 1, old.size]);
    assert.equal(await blobs.statBlob(old.digest), null);
    assert.equal(await blobs.statBlob(fresh.digest), fresh.size);
  });

  it('two collectors at once (this process and `slipway admin gc`) delete each blob exactly once', async () => {
    const all = await Promise.all(Array.from({ length: 30 }, () => placed(512)));
    await t.db('blobs').insert(all.map((b) => ({ digest: b.digest, size: b.size, created_at: Date.now() - 2 * HOUR })));
    // The other replica is another process, as it would be (and must be for SQLite, whose
    // driver waits for a lock synchronously, holding up everything else in the process).
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-gc-replica-'));
    const configFile = path.join(dataDir, 'config.yaml');
    writeFileSync(configFile, toYaml({ DB_URI: t.uri, STORAGE: { PATH: dir }, GC_GRACE_SECONDS: 3600, LOG_LEVEL: 'warn' }));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, SLIPWAY_CONFIG: configFile, SLIPWAY_DATA_DIR: dataDir };
      delete env.DATABASE_URL;
      const [a, cli] = await Promise.all([
        collectGarbage(deps),
        execFileP(process.execPath, [path.join(REPO_ROOT, 'dist/src/main.js'), 'admin', 'gc'], { env }),
      ]);
      const b = parseSummary(cli.stdout);
      assert.equal(a.blobs + b.blobs, all.length);
      assert.equal(a.bytesFreed + b.bytesFreed, all.reduce((n, x) => n + x.size, 0));
      assert.match(cli.stderr, /gc: storage \d+\/\d+/, 'the command shows its progress on stderr');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    for (const blob of all) assert.equal(await blobs.statBlob(blob.digest), null);
    assert.equal(Number((await t.db('blobs').count({ n: '*' }))[0]!.n), 0);
  });
});
