// Reading usage logs back: pages newest first, counts per kind and day, and everything for an export.
import type { Queryable } from '../db/index.js';

/** Which entries: those in [start, end) (milliseconds), narrowed by any of the rest. */
export interface LogFilter {
  start: number;
  end: number;
  namespaceId?: number;
  repositoryId?: number;
  performer?: string;
}

export interface LogRecord {
  id: number;
  kind: string;
  namespace: string | null;
  /** user | org, when the namespace still exists. */
  namespace_kind: string | null;
  namespace_email: string | null;
  repository: string | null;
  performer: string | null;
  performer_kind: string | null;
  performer_email: string | null;
  ip: string | null;
  metadata: Record<string, unknown>;
  created_at: number;
}

/** Where a page ends: the next page holds the entries strictly older than this one. */
export interface LogCursor {
  at: number;
  id: number;
}

export const LOGS_PER_PAGE = 20;
const DAY_MS = 86_400_000;

function filtered(db: Queryable, f: LogFilter) {
  const q = db('usage_logs as l').where('l.created_at', '>=', f.start).andWhere('l.created_at', '<', f.end);
  if (f.namespaceId !== undefined) q.andWhere('l.namespace_id', f.namespaceId);
  if (f.repositoryId !== undefined) q.andWhere('l.repository_id', f.repositoryId);
  if (f.performer !== undefined) q.andWhere('l.performer', f.performer);
  return q;
}

function toRecord(row: Record<string, unknown>): LogRecord {
  let metadata: Record<string, unknown> = {};
  try {
    metadata = JSON.parse(String(row.metadata ?? '{}')) as Record<string, unknown>;
  } catch {
    // An unreadable row still shows up, with what can be read.
  }
  return {
    id: Number(row.id), kind: String(row.kind), namespace: (row.namespace as string | null) ?? null,
    namespace_kind: (row.namespace_kind as string | null) ?? null, namespace_email: (row.namespace_email as string | null) ?? null,
    performer_email: (row.performer_email as string | null) ?? null, repository: (row.repository as string | null) ?? null,
    performer: (row.performer as string | null) ?? null, performer_kind: (row.performer_kind as string | null) ?? null,
    ip: (row.ip as string | null) ?? null, metadata, created_at: Number(row.created_at),
  };
}

/** One page of entries, newest first, after `cursor`; `next` is null on the last page. */
export async function lookupLogs(db: Queryable, f: LogFilter, cursor?: LogCursor | null, limit = LOGS_PER_PAGE): Promise<{ logs: LogRecord[]; next: LogCursor | null }> {
  const q = filtered(db, f)
    .leftJoin('accounts as n', 'n.id', 'l.namespace_id')
    .leftJoin('accounts as p', 'p.id', 'l.performer_id')
    .select('l.*', 'n.kind as namespace_kind', 'n.email as namespace_email', 'p.email as performer_email')
    .orderBy([{ column: 'l.created_at', order: 'desc' }, { column: 'l.id', order: 'desc' }])
    .limit(limit + 1);
  if (cursor) {
    q.andWhere((c) => c.where('l.created_at', '<', cursor.at).orWhere((same) => same.where('l.created_at', cursor.at).andWhere('l.id', '<', cursor.id)));
  }
  const rows = (await q).map(toRecord);
  const logs = rows.slice(0, limit);
  const last = logs[logs.length - 1];
  return { logs, next: rows.length > limit && last ? { at: last.created_at, id: last.id } : null };
}

/** How many entries of each kind each UTC day holds; `day` is the day's first millisecond. */
export async function aggregateLogs(db: Queryable, f: LogFilter): Promise<{ kind: string; count: number; day: number }[]> {
  // Integer division on a BIGINT column truncates on both SQLite and PostgreSQL.
  const dayExpr = `l.created_at / ${DAY_MS}`;
  const rows: { kind: string; day: number | string; count: number | string }[] = await filtered(db, f)
    .select('l.kind', db.raw(`${dayExpr} as day`))
    .count({ count: '*' })
    .groupByRaw(`l.kind, ${dayExpr}`)
    .orderByRaw(`${dayExpr}, l.kind`);
  return rows.map((r) => ({ kind: r.kind, count: Number(r.count), day: Math.floor(Number(r.day)) * DAY_MS }));
}

/** Every matching entry, newest first, read in batches so that a large export never sits in one result. */
export async function* allLogs(db: Queryable, f: LogFilter, batch = 1000): AsyncGenerator<LogRecord> {
  let cursor: LogCursor | null = null;
  do {
    const page = await lookupLogs(db, f, cursor, batch);
    yield* page.logs;
    cursor = page.next;
  } while (cursor);
}
