// Many rows into one table at once, off the request path but often (pull records): knex spends
// more building a 500-row INSERT than the database spends running it, so this skips knex. A SQLite
// file gets the rows from a writer thread (sqlite-writer.ts), one prepared statement per row in
// one transaction; PostgreSQL one prepared INSERT … SELECT FROM unnest(arrays), whatever the count.
import { createHash } from 'node:crypto';
import type { Db } from './index.js';
import { sqliteWriter } from './sqlite-writer.js';

/** A column and its PostgreSQL array element type (`text`, `int`, `bigint`). */
export interface BatchColumn {
  name: string;
  pgType: 'text' | 'int' | 'bigint';
}

interface SqliteConnection {
  prepare(sql: string): { run(...values: unknown[]): unknown };
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
}

interface PgConnection {
  query(q: { name: string; text: string; values: unknown[] }): Promise<unknown>;
}

function insertSql(table: string, columns: readonly BatchColumn[]): string {
  return `INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

const inProcessWriters = new WeakMap<object, Map<string, (rows: unknown[][]) => void>>();

function inProcessWriter(conn: SqliteConnection, table: string, columns: readonly BatchColumn[]): (rows: unknown[][]) => void {
  const key = `${table}(${columns.map((c) => c.name).join(',')})`;
  let byKey = inProcessWriters.get(conn);
  if (!byKey) inProcessWriters.set(conn, (byKey = new Map()));
  let write = byKey.get(key);
  if (!write) {
    const stmt = conn.prepare(insertSql(table, columns));
    write = conn.transaction((rows: unknown[][]) => {
      for (const row of rows) stmt.run(...row);
    });
    byKey.set(key, write);
  }
  return write;
}

/** Inserts `rows` (values in `columns` order) in one transaction. */
export async function insertBatch(db: Db, table: string, columns: readonly BatchColumn[], rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const filename = (db.client.config as { connection?: { filename?: string } }).connection?.filename;
  if (filename && filename !== ':memory:') return sqliteWriter(filename).write(insertSql(table, columns), rows);
  const conn = (await db.client.acquireConnection()) as Partial<SqliteConnection & PgConnection>;
  try {
    if (conn.prepare && conn.transaction) return inProcessWriter(conn as SqliteConnection, table, columns)(rows); // an in-memory database
    const arrays = columns.map((_, i) => rows.map((r) => r[i] ?? null));
    const name = `slipway-batch-${createHash('sha256').update(table + columns.map((c) => c.name + c.pgType).join()).digest('hex').slice(0, 16)}`;
    const text = `INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) SELECT * FROM unnest(${columns.map((c, i) => `$${i + 1}::${c.pgType}[]`).join(', ')})`;
    await conn.query!({ name, text, values: arrays });
  } finally {
    await db.client.releaseConnection(conn);
  }
}
