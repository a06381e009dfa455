import type { Queryable } from '../db/index.js';
import type { Identity } from '../auth/policy.js';

/** Who performed an action when no full Identity is at hand (the registry knows only id, name and kind). */
export interface Performer {
  kind: 'anonymous' | 'user' | 'robot';
  /** 0 for anonymous. */
  accountId: number;
  name: string;
}

/** One usage log entry; `kind` uses Quay's names (push_repo, create_robot, change_repo_permission…). */
export interface LogEntryInput {
  kind: string;
  performer: Identity | Performer;
  namespace?: { id: number; name: string } | null;
  repository?: { id: number; name: string } | null;
  ip?: string | null;
  metadata?: Record<string, unknown>;
  /** When it happened; now unless given (a buffered entry keeps the time it was queued). */
  at?: number;
}

function performerColumns(p: Identity | Performer) {
  if (p.kind === 'anonymous') return { performer_id: null, performer: null, performer_kind: 'anonymous' };
  if ('account' in p) return { performer_id: p.account.id, performer: p.account.name, performer_kind: p.kind };
  return { performer_id: p.accountId, performer: p.name, performer_kind: p.kind };
}

/** The row an entry is stored as. */
export function logRow(entry: LogEntryInput) {
  return {
    kind: entry.kind,
    namespace_id: entry.namespace?.id ?? null,
    namespace: entry.namespace?.name ?? null,
    repository_id: entry.repository?.id ?? null,
    repository: entry.repository?.name ?? null,
    ...performerColumns(entry.performer),
    ip: entry.ip ?? null,
    metadata: JSON.stringify(entry.metadata ?? {}),
    created_at: entry.at ?? Date.now(),
  };
}

/** Records an entry; pass the transaction of the change so that the entry and the change land together. */
export async function recordLog(db: Queryable, entry: LogEntryInput): Promise<void> {
  await db('usage_logs').insert(logRow(entry));
}
