import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from './migrations/index.js';
import { SqliteClient } from './sqlite-client.js';

export type Db = Knex;
export type Tx = Knex.Transaction;
/** Either the database or a transaction on it: domain functions accept both. */
export type Queryable = Knex | Knex.Transaction;

// PostgreSQL returns BIGINT as strings; our sizes and millisecond timestamps fit in a double.
pg.types.setTypeParser(20, (v: string) => Number(v));

export function dialectOf(uri: string): 'sqlite' | 'postgres' {
  return uri.startsWith('sqlite:') ? 'sqlite' : 'postgres';
}

export function createDb(uri: string): Db {
  if (dialectOf(uri) === 'sqlite') {
    const filename = uri.slice('sqlite:'.length);
    if (filename !== ':memory:') mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
    return knex({
      client: SqliteClient as unknown as typeof knex.Client,
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate(conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          // WAL lets the admin CLI write while the server runs; busy_timeout makes them wait, not fail.
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          conn.pragma('busy_timeout = 10000');
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        },
      },
    });
  }
  return knex({ client: 'pg', connection: uri, pool: { min: 0, max: 10 } });
}

export async function migrate(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
