import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PathNotFoundError, type StorageDriver } from '../../registry/storage/driver.js';
import { createFilesystemDriver } from '../../registry/storage/filesystem-driver.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function write(driver: StorageDriver, p: string, ...parts: Buffer[]): Promise<void> {
  await pipeline(Readable.from(parts), await driver.appender(p));
}

/**
 * What every storage driver must do, written once. A driver's own test is a constructor
 * (with its teardown) and one call.
 */
export function storageDriverSuite(name: string, open: () => Promise<{ driver: StorageDriver; close(): Promise<void> }>): void {
  describe(`storage driver contract: ${name}`, () => {
    let driver: StorageDriver;
    let close: () => Promise<void>;
    beforeEach(async () => ({ driver, close } = await open()));
    afterEach(async () => close());

    it('stats nothing at a missing path', async () => {
      assert.equal(await driver.stat('/nothing/here'), null);
    });

    it('appends across writers, creating folders, and reads the whole file back', async () => {
      const a = randomBytes(3 << 20);
      const b = randomBytes(1000);
      await write(driver, '/x/y/z/file', a);
      await write(driver, '/x/y/z/file', b);
      assert.deepEqual(await driver.stat('/x/y/z/file'), { size: a.length + b.length });
      assert.deepEqual(await readAll(await driver.reader('/x/y/z/file')), Buffer.concat([a, b]));
    });

    it('creates an empty file from an empty stream', async () => {
      await write(driver, '/empty/file');
      assert.deepEqual(await driver.stat('/empty/file'), { size: 0 });
      assert.equal((await readAll(await driver.reader('/empty/file'))).length, 0);
    });

    it('reads an inclusive byte range', async () => {
      const data = randomBytes(10_000);
      await write(driver, '/r/file', data);
      assert.deepEqual(await readAll(await driver.reader('/r/file', { start: 100, end: 199 })), data.subarray(100, 200));
      assert.deepEqual(await readAll(await driver.reader('/r/file', { start: 9999, end: 9999 })), data.subarray(9999));
    });

    it('reads at chosen offsets into the caller\'s buffer, when it offers positional reads', async function () {
      if (!driver.openPositional) this.skip();
      const data = randomBytes(10_000);
      await write(driver, '/p/file', data);
      const file = await driver.openPositional('/p/file');
      try {
        const into = Buffer.alloc(300);
        assert.equal(await file.read(into, 200, 5000), 200);
        assert.deepEqual(into.subarray(0, 200), data.subarray(5000, 5200));
        assert.equal(await file.read(into, 300, 9900), 100, 'a read past the end is short');
        assert.deepEqual(into.subarray(0, 100), data.subarray(9900));
        assert.equal(await file.read(into, 300, 10_000), 0, 'and at the end it reads nothing');
      } finally {
        await file.close();
      }
      await assert.rejects(driver.openPositional('/missing'), PathNotFoundError);
    });

    it('rejects reading, truncating or moving a missing file with PathNotFoundError', async () => {
      await assert.rejects(driver.reader('/missing'), PathNotFoundError);
      await assert.rejects(driver.truncate('/missing', 0), PathNotFoundError);
      await assert.rejects(driver.move('/missing', '/elsewhere'), PathNotFoundError);
    });

    it('truncates a file, after which appends continue from the cut', async () => {
      await write(driver, '/t/file', Buffer.from('hello world'));
      await driver.truncate('/t/file', 5);
      await write(driver, '/t/file', Buffer.from('!'));
      assert.equal((await readAll(await driver.reader('/t/file'))).toString(), 'hello!');
    });

    it('keeps what a destroyed appender wrote before it was destroyed', async () => {
      const w: Writable = await driver.appender('/d/file');
      await new Promise<void>((resolve, reject) => w.write(Buffer.from('kept'), (err) => (err ? reject(err) : resolve())));
      await new Promise<void>((resolve) => {
        w.once('close', () => resolve());
        w.destroy();
      });
      assert.deepEqual(await driver.stat('/d/file'), { size: 4 });
    });

    it('moves a file to a new folder, replacing what was there', async () => {
      await write(driver, '/m/src', Buffer.from('new'));
      await write(driver, '/m/deep/er/dst', Buffer.from('old content'));
      await driver.move('/m/src', '/m/deep/er/dst');
      assert.equal(await driver.stat('/m/src'), null);
      assert.equal((await readAll(await driver.reader('/m/deep/er/dst'))).toString(), 'new');
      await write(driver, '/m/src2', Buffer.from('fresh'));
      await driver.move('/m/src2', '/n/o/p');
      assert.equal((await readAll(await driver.reader('/n/o/p'))).toString(), 'fresh');
    });

    it('deletes files and folder trees, and deleting nothing is fine', async () => {
      await write(driver, '/del/a/one', Buffer.from('1'));
      await write(driver, '/del/b', Buffer.from('2'));
      await driver.delete('/del/b');
      assert.equal(await driver.stat('/del/b'), null);
      await driver.delete('/del');
      assert.equal(await driver.stat('/del/a/one'), null);
      await driver.delete('/del');
    });

    it('refuses paths that could leave its root', async () => {
      for (const bad of ['relative/path', '/a/../../etc/passwd', '/a//b', '/', '/a/./b', '/.hidden']) {
        await assert.rejects(async () => driver.stat(bad), /invalid storage path/, bad);
      }
    });
  });
}

storageDriverSuite('filesystem', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-driver-'));
  return { driver: createFilesystemDriver(root), close: async () => rmSync(root, { recursive: true, force: true }) };
});
