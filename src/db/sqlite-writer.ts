// A thread that writes batches of rows into a SQLite database file. better-sqlite3 works
// synchronously, so rows written on the main thread stall every request meanwhile; a pull
// record costs SQLite about as much as serving the pull, so those go here instead.
import { Worker } from 'node:worker_threads';

export interface SqliteWriter {
  /** Runs `sql` (one row's INSERT) once per row, all in one transaction. */
  write(sql: string, rows: unknown[][]): Promise<void>;
}

interface Pending {
  resolve(): void;
  reject(err: Error): void;
}

function startWriter(filename: string): SqliteWriter & { dead: boolean } {
  const worker = new Worker(new URL('./sqlite-writer-worker.js', import.meta.url), { workerData: { filename } });
  const pending = new Map<number, Pending>();
  let next = 0;
  // The thread keeps the process alive only while it has work: a server shutting down waits
  // for the last batch, an idle one exits freely.
  worker.unref();
  const self = {
    dead: false,
    write(sql: string, rows: unknown[][]) {
      return new Promise<void>((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        if (pending.size === 1) worker.ref();
        worker.postMessage({ id, sql, rows });
      });
    },
  };
  const settle = (id: number, error?: string) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    if (error === undefined) p.resolve();
    else p.reject(new Error(error));
  };
  worker.on('message', (m: { id: number; error?: string }) => settle(m.id, m.error));
  const fail = (err: Error) => {
    self.dead = true;
    for (const [id] of pending) settle(id, `the SQLite writer thread stopped: ${err.message}`);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  return self;
}

const writers = new Map<string, SqliteWriter & { dead: boolean }>();

/** The writer thread for the database file, started on first use (and again if it died). */
export function sqliteWriter(filename: string): SqliteWriter {
  let writer = writers.get(filename);
  if (!writer || writer.dead) writers.set(filename, (writer = startWriter(filename)));
  return writer;
}
