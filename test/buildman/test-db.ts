// A migrated database of its own (SQLite file or fresh PostgreSQL, per SLIPWAY_TEST_DB) with one
// user and one repository, for manager-level tests that need no HTTP server.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createDb, migrate, type Db } from '../../src/db/index.js';
import { freshPostgres, TEST_DB } from '../support/server.js';

export interface TestDb {
  db: Db;
  uri: string;
  repositoryId: number;
  close(): Promise<void>;
}

export const silentLog = pino({ level: 'silent' });

export async function openTestDb(): Promise<TestDb> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-buildman-'));
  const pg = TEST_DB === 'postgres' ? await freshPostgres() : null;
  const uri = pg ? pg.url : `sqlite:${path.join(dir, 'slipway.db')}`;
  const db = createDb(uri);
  await migrate(db);
  const now = Date.now();
  const [acct] = await db('accounts').insert({ name: 'alice', kind: 'user', email: 'alice@example.com', created_at: now }).returning('id');
  const accountId = Number(typeof acct === 'object' ? (acct as { id: number }).id : acct);
  const [repo] = await db('repositories')
    .insert({ namespace_id: accountId, name: 'app', visibility: 'private', created_at: now, updated_at: now })
    .returning('id');
  const repositoryId = Number(typeof repo === 'object' ? (repo as { id: number }).id : repo);
  return {
    db, uri, repositoryId,
    async close() {
      await db.destroy();
      await pg?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
