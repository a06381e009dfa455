// The background collector of `slipway serve`: with FEATURE_GARBAGE_COLLECTION on, a deleted
// tag's blobs leave the disk without anyone running `slipway admin gc`.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClients, mustSucceed, type Clients } from '../support/clients.js';
import { registryToken, startServer, TEST_DB, type TestServer } from '../support/server.js';
import { randomLayer, storedBlobPath, writeTinyImage } from './tiny-layout.js';

import { ALICE, collectableOrg } from './collectable-org.js';

describe(`the background garbage collector (${TEST_DB})`, function () {
  this.timeout(180_000);
  let server: TestServer;
  let c: Clients;

  before(async () => {
    // A grace of a few seconds: passes run while the pushes below are under way, and a push's
    // blobs must outlast them until its manifest arrives.
    server = await startServer({ config: { FEATURE_GARBAGE_COLLECTION: true, GC_INTERVAL_SECONDS: 1, GC_GRACE_SECONDS: 3 } });
    await collectableOrg(server, 'bg');
    c = createClients([server.host]);
  });
  after(async () => {
    c?.dispose();
    await server?.stop();
  });

  it("deletes a deleted tag's blobs from disk on its own, and keeps the live tag's", async () => {
    const gone = writeTinyImage(path.join(c.dir, 'gone'), 'v1', [randomLayer(16 * 1024)]);
    const kept = writeTinyImage(path.join(c.dir, 'kept'), 'v1', [randomLayer(16 * 1024)]);
    for (const [image, tag] of [[gone, 'gone'], [kept, 'kept']] as const) {
      mustSucceed(`push ${tag}`, await c.skopeo(['copy', '--dest-creds', `${ALICE.user}:${ALICE.password}`, image.ref, `docker://${server.host}/bg/app:${tag}`]));
    }
    const token = await registryToken(server, ALICE, 'repository:bg/app:pull,push,delete');
    assert.equal((await fetch(`${server.url}/v2/bg/app/manifests/gone`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 202);

    const onDisk = (digest: string) => existsSync(storedBlobPath(server.dataDir, digest));
    // Waits on the outcome, whenever it comes (passes run every second), up to a generous bound.
    for (let i = 0; i < 120 && gone.blobs.some((b) => onDisk(b.digest)); i++) await sleep(500);
    for (const blob of gone.blobs) assert.ok(!onDisk(blob.digest), `${blob.digest} was collected in the background`);
    for (const blob of kept.blobs) assert.ok(onDisk(blob.digest), `${blob.digest} is still in use`);
  });
});
