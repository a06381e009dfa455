import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync, appendFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { RegistryError } from '../../registry/errors.js';
import type { BlobStore } from '../../registry/storage/blob-store.js';
import { createBlobStore } from '../../registry/storage/content-store.js';
import type { StorageDriver } from '../../registry/storage/driver.js';
import { createFilesystemDriver } from '../../registry/storage/filesystem-driver.js';

const digestOf = (data: Buffer, algorithm = 'sha256') => `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;

/** Wraps a driver to count whole-file reads: the cost a running hash is there to save. */
function countingReads(driver: StorageDriver): StorageDriver & { reads: number } {
  const wrapped = { ...driver, reads: 0 };
  wrapped.reader = async (p, range) => {
    wrapped.reads++;
    return driver.reader(p, range);
  };
  return wrapped;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body that delivers `bytes` and then fails, as a dropped connection does. */
function failingBody(bytes: Buffer): Readable {
  return new Readable({
    read() {
      this.push(bytes);
      setImmediate(() => this.destroy(new Error('connection reset')));
    },
  });
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof RegistryError && err.code === code);
}

describe('content store', () => {
  let root: string;
  let driver: StorageDriver & { reads: number };
  let store: BlobStore;
  const dataFile = (id: string) => path.join(root, 'uploads', id, 'data');

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'slipway-store-'));
    driver = countingReads(createFilesystemDriver(root));
    store = createBlobStore(driver);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('verifies chunks received in order without reading them back', async () => {
    const parts = [randomBytes(3000), randomBytes(5000), randomBytes(7)];
    const id = randomUUID();
    let size = 0;
    for (const part of parts) size = await store.appendUpload(id, Readable.from([part]), size);
    const data = Buffer.concat(parts);
    await store.commitUpload(id, digestOf(data), size);
    assert.equal(driver.reads, 0);
    assert.equal(await store.statBlob(digestOf(data)), data.length);
    assert.deepEqual(await readAll(await store.openBlob(digestOf(data))), data);
  });

  it('hashes the stored bytes at commit when another process took the earlier chunks', async () => {
    const first = randomBytes(4000);
    const second = randomBytes(4000);
    const id = randomUUID();
    await store.appendUpload(id, Readable.from([first]), 0);
    const restarted = createBlobStore(driver);
    await restarted.appendUpload(id, Readable.from([second]), first.length);
    const data = Buffer.concat([first, second]);
    await restarted.commitUpload(id, digestOf(data), data.length);
    assert.equal(driver.reads, 1);
    assert.deepEqual(await readAll(await restarted.openBlob(digestOf(data))), data);
  });

  it('rolls a failed chunk back, bytes and hash, so the upload carries on', async () => {
    const first = randomBytes(1000);
    const id = randomUUID();
    await store.appendUpload(id, Readable.from([first]), 0);
    await expectCode(store.appendUpload(id, failingBody(randomBytes(500)), first.length), 'BLOB_UPLOAD_INVALID');
    assert.equal(statSync(dataFile(id)).size, first.length);
    await expectCode(store.appendUpload(id, Readable.from([randomBytes(10)]), first.length, 20), 'SIZE_INVALID');
    assert.equal(statSync(dataFile(id)).size, first.length);
    const second = randomBytes(1000);
    await store.appendUpload(id, Readable.from([second]), first.length);
    const data = Buffer.concat([first, second]);
    await store.commitUpload(id, digestOf(data), data.length);
    assert.equal(driver.reads, 0, 'the running hash survived the failures');
  });

  it('cuts an unacknowledged tail before appending and before committing', async () => {
    const acknowledged = randomBytes(100);
    const id = randomUUID();
    await store.appendUpload(id, Readable.from([acknowledged]), 0);
    appendFileSync(dataFile(id), randomBytes(77));
    const next = randomBytes(50);
    await store.appendUpload(id, Readable.from([next]), 100);
    assert.deepEqual(readFileSync(dataFile(id)), Buffer.concat([acknowledged, next]));
    appendFileSync(dataFile(id), randomBytes(77));
    const data = Buffer.concat([acknowledged, next]);
    await createBlobStore(driver).commitUpload(id, digestOf(data), data.length);
    assert.equal(await store.statBlob(digestOf(data)), data.length);
  });

  it('refuses an upload that lost acknowledged bytes', async () => {
    const id = randomUUID();
    await store.appendUpload(id, Readable.from([randomBytes(100)]), 0);
    writeFileSync(dataFile(id), randomBytes(10));
    await expectCode(store.appendUpload(id, Readable.from([randomBytes(1)]), 100), 'BLOB_UPLOAD_INVALID');
  });

  it('drops the upload and places nothing on a digest mismatch', async () => {
    const id = randomUUID();
    const data = randomBytes(100);
    await store.appendUpload(id, Readable.from([data]), 0);
    const claimed = digestOf(randomBytes(100));
    await expectCode(store.commitUpload(id, claimed, 100), 'DIGEST_INVALID');
    assert.equal(await store.statBlob(claimed), null);
    assert.equal(await store.statBlob(digestOf(data)), null);
    assert.equal(await driver.stat(`/uploads/${id}/data`), null);
  });

  it('verifies sha512 digests, and empty blobs', async () => {
    const data = randomBytes(2048);
    const id = randomUUID();
    await store.appendUpload(id, Readable.from([data]), 0);
    await store.commitUpload(id, digestOf(data, 'sha512'), data.length);
    assert.equal(await store.statBlob(digestOf(data, 'sha512')), data.length);
    const empty = randomUUID();
    await store.commitUpload(empty, digestOf(Buffer.alloc(0)), 0);
    assert.equal(await store.statBlob(digestOf(Buffer.alloc(0))), 0);
  });

  it('stores bytes from memory only under their own digest, and serves ranges', async () => {
    const data = randomBytes(500);
    await expectCode(store.putBlob(digestOf(randomBytes(5)), data), 'DIGEST_INVALID');
    await store.putBlob(digestOf(data), data);
    await store.putBlob(digestOf(data), data);
    assert.deepEqual(await readAll(await store.openBlob(digestOf(data), { start: 10, end: 19 })), data.subarray(10, 20));
    await store.deleteBlob(digestOf(data));
    await expectCode(store.openBlob(digestOf(data)), 'BLOB_UNKNOWN');
  });
});
