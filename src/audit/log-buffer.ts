// Usage log entries written off the request path, in batches: a pull must not wait for its
// log row, and under load one multi-row insert costs far less than one insert per pull.
import type { Logger } from 'pino';
import { insertBatch, type BatchColumn } from '../db/batch-insert.js';
import type { Db } from '../db/index.js';
import { logRow, type LogEntryInput } from './usage-log.js';

/** An entry whose namespace id is looked up from its repository when the batch is written. */
export type RepositoryLogEntry = Omit<LogEntryInput, 'namespace' | 'repository'> & {
  namespace: string;
  repository: { id: number; name: string };
};

// Entries wait at most this long; a crash loses at most this window of pull records.
const FLUSH_DELAY_MS = 100;
const BATCH_ROWS = 500;
// Past this many unwritten entries (the database is down), new ones are dropped rather than
// letting memory grow without bound.
const MAX_PENDING = 20_000;

const COLUMNS: BatchColumn[] = [
  { name: 'kind', pgType: 'text' }, { name: 'namespace_id', pgType: 'int' }, { name: 'namespace', pgType: 'text' },
  { name: 'repository_id', pgType: 'int' }, { name: 'repository', pgType: 'text' }, { name: 'performer_id', pgType: 'int' },
  { name: 'performer', pgType: 'text' }, { name: 'performer_kind', pgType: 'text' }, { name: 'ip', pgType: 'text' },
  { name: 'metadata', pgType: 'text' }, { name: 'created_at', pgType: 'bigint' },
];

export interface LogBuffer {
  add(entry: RepositoryLogEntry): void;
  /** Writes everything queued so far. */
  flush(): Promise<void>;
}

function createLogBuffer(db: Db, log: Logger): LogBuffer {
  let pending: RepositoryLogEntry[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  let dropped = 0;

  async function write(batch: RepositoryLogEntry[]): Promise<void> {
    for (let i = 0; i < batch.length; i += BATCH_ROWS) {
      const slice = batch.slice(i, i + BATCH_ROWS);
      const ids = [...new Set(slice.map((e) => e.repository.id))];
      const owners: { id: number; namespace_id: number }[] = await db('repositories').whereIn('id', ids).select('id', 'namespace_id');
      const nsOf = new Map(owners.map((r) => [Number(r.id), Number(r.namespace_id)]));
      const rows = slice.map((e) => {
        const nsId = nsOf.get(e.repository.id);
        // A repository deleted meanwhile still has its entry, under its repository name.
        const row: Record<string, unknown> = logRow({ ...e, namespace: nsId === undefined ? null : { id: nsId, name: e.namespace }, repository: e.repository });
        return COLUMNS.map((c) => row[c.name]);
      });
      await insertBatch(db, 'usage_logs', COLUMNS, rows);
    }
  }

  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = pending;
    pending = [];
    if (dropped) {
      log.error({ dropped }, 'usage log entries dropped: the database did not keep up');
      dropped = 0;
    }
    // Batches are written one after another, so entries land in the order they were queued.
    writing = writing.then(async () => {
      if (batch.length === 0) return;
      try {
        await write(batch);
      } catch (err) {
        log.error({ err, entries: batch.length }, 'writing usage log entries failed');
      }
    });
    return writing;
  }

  return {
    add(entry) {
      if (pending.length >= MAX_PENDING) {
        dropped++;
        return;
      }
      entry.at ??= Date.now();
      pending.push(entry);
      if (pending.length >= BATCH_ROWS) void flush();
      else if (!timer) {
        timer = setTimeout(() => void flush(), FLUSH_DELAY_MS);
        timer.unref();
      }
    },
    flush,
  };
}

const buffers = new WeakMap<Db, LogBuffer>();

/** The one buffer of a database, made on first use. */
export function logBuffer(db: Db, log: Logger): LogBuffer {
  let buffer = buffers.get(db);
  if (!buffer) buffers.set(db, (buffer = createLogBuffer(db, log)));
  return buffer;
}

/** Writes what is queued for the database; call before closing it. */
export async function flushLogBuffer(db: Db): Promise<void> {
  await buffers.get(db)?.flush();
}
