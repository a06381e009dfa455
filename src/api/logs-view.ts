// How the usage log endpoints read their parameters and show entries, in Quay's shapes.
import { invalid } from '../errors.js';
import type { LogCursor, LogRecord } from '../audit/log-query.js';
import { avatarOf } from './avatar.js';

const DAY_MS = 86_400_000;
/** Aggregated counts cover at most this span (Quay: about a month). */
export const MAX_AGGREGATE_DAYS = 31;

/** Quay's format_date: RFC 2822 in UTC, `Mon, 13 Dec 2021 11:41:16 -0000`. */
export function formatDate(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, '-0000');
}

/** `MM/DD/YYYY`, read as the start of that day in UTC. */
function parseDay(field: string, raw: string): number {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(raw);
  const ms = m ? Date.UTC(Number(m[3]), Number(m[1]) - 1, Number(m[2])) : NaN;
  // Date.UTC rolls 02/30 over into March; a date that does not exist is refused instead.
  if (!m || new Date(ms).getUTCDate() !== Number(m[2]) || new Date(ms).getUTCMonth() !== Number(m[1]) - 1) {
    throw invalid(field, `${field} must be a date written MM/DD/YYYY (UTC), not ${JSON.stringify(raw)}`);
  }
  return ms;
}

export interface LogQuery {
  starttime?: string;
  endtime?: string;
  performer?: string;
  next_page?: string;
}

/**
 * The range the query asks for, as Quay reads it: `starttime` defaults to a day ago, `endtime` to
 * now, and the end day is included (its midnight plus a day). Unlike Quay, a date that does not
 * parse is refused rather than quietly replaced by the default.
 */
export function timeRange(q: LogQuery, now = Date.now(), maxDays?: number): { start: number; end: number } {
  const start = q.starttime ? parseDay('starttime', q.starttime) : now - DAY_MS;
  const end = (q.endtime ? parseDay('endtime', q.endtime) : now) + DAY_MS;
  if (end < start) throw invalid('endtime', 'endtime is before starttime');
  if (maxDays !== undefined && end - start > maxDays * DAY_MS) {
    throw invalid('starttime', `aggregated logs cover at most ${maxDays} days; narrow starttime and endtime`);
  }
  return { start, end };
}

/** next_page is opaque to clients: where the previous page stopped. */
export function encodeCursor(c: LogCursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id])).toString('base64url');
}

export function decodeCursor(raw: string | undefined): LogCursor | null {
  if (raw === undefined || raw === '') return null;
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown[];
    if (Number.isSafeInteger(at) && Number.isSafeInteger(id)) return { at: at as number, id: id as number };
  } catch {
    // fall through to the refusal
  }
  throw invalid('next_page', 'next_page is not a value this API handed out');
}

/** An entry as Quay shows it; `namespace` only where the listing spans namespaces (the superuser's). */
export function logView(r: LogRecord, includeNamespace: boolean) {
  const isRobot = r.performer_kind === 'robot';
  return {
    kind: r.kind,
    metadata: r.metadata,
    ip: r.ip,
    datetime: formatDate(r.created_at),
    ...(r.performer
      ? { performer: { kind: 'user', name: r.performer, is_robot: isRobot, avatar: avatarOf(r.performer, isRobot ? 'robot' : 'user', r.performer_email) } }
      : {}),
    ...(includeNamespace && r.namespace
      ? {
          namespace: {
            kind: r.namespace_kind === 'org' ? 'org' : 'user', name: r.namespace,
            avatar: avatarOf(r.namespace, r.namespace_kind === 'org' ? 'org' : 'user', r.namespace_email),
          },
        }
      : {}),
  };
}

export function aggregateView(rows: { kind: string; count: number; day: number }[]) {
  return { aggregated: rows.map((r) => ({ kind: r.kind, count: r.count, datetime: formatDate(r.day) })) };
}
