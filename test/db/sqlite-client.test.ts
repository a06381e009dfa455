import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createDb } from '../../src/db/index.js';

describe('SQLite transactions', () => {
  it('take the write lock when they begin, so a read-then-write transaction cannot lose it to another connection', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'slipway-sqlite-')), 'db.sqlite');
    const db = createDb(`sqlite:${file}`);
    await db.schema.createTable('t', (t) => t.integer('n'));
    const other = new Database(file);
    try {
      other.pragma('busy_timeout = 0');
      await db.transaction(async (tx) => {
        await tx('t').select('n'); // a read only: a deferred BEGIN would hold no write lock yet
        assert.throws(() => other.prepare('insert into t (n) values (1)').run(), /database is locked/);
        await tx('t').insert({ n: 2 });
      });
      other.prepare('insert into t (n) values (3)').run();
      assert.deepEqual((await db('t').select('n').orderBy('n')).map((r) => r.n), [2, 3]);
    } finally {
      other.close();
      await db.destroy();
    }
  });
});
