// knex's better-sqlite3 client, with write transactions that take the write lock when they begin.
// knex opens SQLite transactions with a deferred BEGIN: a transaction that reads, then writes,
// fails at once with SQLITE_BUSY when another connection (the usage-log writer thread, the admin
// CLI) committed in between, and busy_timeout cannot help. BEGIN IMMEDIATE waits for the lock
// (up to busy_timeout) instead, so such transactions queue rather than fail.
// @ts-expect-error knex ships no types for its dialect internals
import ClientBetterSqlite3 from 'knex/lib/dialects/better-sqlite3/index.js';
// @ts-expect-error knex ships no types for its dialect internals
import TransactionSqlite from 'knex/lib/dialects/sqlite3/execution/sqlite-transaction.js';

class ImmediateTransaction extends TransactionSqlite {
  begin(conn: unknown) {
    return (this as unknown as { query(c: unknown, sql: string): Promise<unknown> }).query(conn, 'BEGIN IMMEDIATE;');
  }
}

export class SqliteClient extends ClientBetterSqlite3 {
  transaction(...args: unknown[]) {
    return new (ImmediateTransaction as unknown as new (...a: unknown[]) => unknown)(this, ...args);
  }
}
