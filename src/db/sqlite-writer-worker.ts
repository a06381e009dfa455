// The body of the SQLite batch writer thread (see sqlite-writer.ts): its own connection to the
// database file, one transaction per batch.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

interface Job {
  id: number;
  sql: string;
  rows: unknown[][];
}

const db = new Database((workerData as { filename: string }).filename);
// The same settings as the server's own connection (db/index.ts): WAL so that both may work at
// once, and a busy timeout so that a write waits for the other writer instead of failing.
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 10000');
db.pragma('foreign_keys = ON');

const writers = new Map<string, (rows: unknown[][]) => void>();

function writerFor(sql: string): (rows: unknown[][]) => void {
  let write = writers.get(sql);
  if (!write) {
    const stmt = db.prepare(sql);
    write = db.transaction((rows: unknown[][]) => {
      for (const row of rows) stmt.run(...row);
    });
    writers.set(sql, write);
  }
  return write;
}

parentPort!.on('message', (job: Job) => {
  try {
    writerFor(job.sql)(job.rows);
    parentPort!.postMessage({ id: job.id });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
  }
});
