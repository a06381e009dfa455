// Hot-path reads as prepared statements on the pool's own connections. Building a query through
// knex costs several times what SQLite takes to answer it, and PostgreSQL plans an unnamed
// statement afresh on every call; a pull by tag is one such read, so it skips both.
import type { Queryable } from './index.js';

interface SqliteStatement {
  get(...values: unknown[]): unknown;
}

interface PooledConnection {
  /** better-sqlite3 */
  prepare?(sql: string): SqliteStatement;
  /** pg */
  query?(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

const sqliteStatements = new WeakMap<object, Map<string, SqliteStatement>>();

function sqliteStatement(conn: PooledConnection, sql: string): SqliteStatement {
  let byText = sqliteStatements.get(conn);
  if (!byText) sqliteStatements.set(conn, (byText = new Map()));
  let statement = byText.get(sql);
  if (!statement) byText.set(sql, (statement = conn.prepare!(sql)));
  return statement;
}

/**
 * A read answering at most one row. `sql` uses `?` placeholders and no boolean parameters (SQLite
 * cannot bind them). Inside a transaction it runs as an ordinary query on that transaction.
 */
export function preparedFirst<Row>(name: string, sql: string): (db: Queryable, values: unknown[]) => Promise<Row | undefined> {
  let n = 0;
  const pgText = sql.replace(/\?/g, () => `$${++n}`);
  return async (db, values) => {
    if ((db as { isTransaction?: boolean }).isTransaction) {
      const result = await db.raw(sql, values as never[]);
      return (Array.isArray(result) ? result[0] : result.rows[0]) as Row | undefined;
    }
    const conn = (await db.client.acquireConnection()) as PooledConnection;
    try {
      if (conn.prepare) return sqliteStatement(conn, sql).get(...values) as Row | undefined;
      return (await conn.query!({ name: `slipway-${name}`, text: pgText, values })).rows[0] as Row | undefined;
    } finally {
      await db.client.releaseConnection(conn);
    }
  };
}
