// Storage used per namespace and per repository, as quotas count it: the compressed size of every
// blob a stored manifest references, each blob once per namespace (or repository) however many
// manifests and tags share it. Computed on demand in one query rather than kept in counters, so a
// figure is never off after concurrent pushes or a killed collector; a manifest keeps counting
// until garbage collection deletes it (Quay's rule: deleted tags free quota only once collected).
// The tables are the registry's; the core reads them here because listings carry the figures.
import type { Queryable } from '../db/index.js';

export interface QuotaReport {
  quota_bytes: number;
  /** The namespace's quota (or the system default reject limit), null when it has none. */
  configured_quota: number | null;
}

async function sizesBy(db: Queryable, column: 'r.namespace_id' | 'r.id', ids: number[]): Promise<Map<number, number>> {
  const sizes = new Map<number, number>(ids.map((id) => [id, 0]));
  if (!ids.length) return sizes;
  const distinct = db('manifest_blobs as mb')
    .join('manifests as m', 'm.id', 'mb.manifest_id')
    .join('repositories as r', 'r.id', 'm.repository_id')
    .whereIn(column, ids)
    .distinct({ owner: column, digest: 'mb.digest' });
  const rows: { owner: number; bytes: number | string | null }[] = await db
    .from(distinct.as('x'))
    .join('blobs as b', 'b.digest', 'x.digest')
    .groupBy('x.owner')
    .select('x.owner')
    .sum({ bytes: 'b.size' });
  for (const row of rows) sizes.set(Number(row.owner), Number(row.bytes ?? 0));
  return sizes;
}

export function namespaceSizes(db: Queryable, namespaceIds: number[]): Promise<Map<number, number>> {
  return sizesBy(db, 'r.namespace_id', [...new Set(namespaceIds)]);
}

export function repositorySizes(db: Queryable, repositoryIds: number[]): Promise<Map<number, number>> {
  return sizesBy(db, 'r.id', [...new Set(repositoryIds)]);
}

/** Each namespace's configured quota in bytes: its own, else the system default, else null. */
export async function configuredQuotas(db: Queryable, namespaceIds: number[], systemDefault: number): Promise<Map<number, number | null>> {
  const ids = [...new Set(namespaceIds)];
  const rows: { namespace_id: number; limit_bytes: number | string }[] = ids.length
    ? await db('quotas').whereIn('namespace_id', ids).select('namespace_id', 'limit_bytes')
    : [];
  const own = new Map(rows.map((r) => [Number(r.namespace_id), Number(r.limit_bytes)]));
  return new Map(ids.map((id) => [id, own.get(id) ?? (systemDefault > 0 ? systemDefault : null)]));
}

/** `quota_report` for each repository: its own size against its namespace's quota. */
export async function repositoryQuotaReports(
  db: Queryable,
  repos: { id: number; namespace_id: number }[],
  systemDefault: number,
): Promise<Map<number, QuotaReport>> {
  const sizes = await repositorySizes(db, repos.map((r) => r.id));
  const quotas = await configuredQuotas(db, repos.map((r) => r.namespace_id), systemDefault);
  return new Map(repos.map((r) => [r.id, { quota_bytes: sizes.get(r.id) ?? 0, configured_quota: quotas.get(r.namespace_id) ?? null }]));
}

/** `quota_report` for a namespace. */
export async function namespaceQuotaReport(db: Queryable, namespaceId: number, systemDefault: number): Promise<QuotaReport> {
  const sizes = await namespaceSizes(db, [namespaceId]);
  const quotas = await configuredQuotas(db, [namespaceId], systemDefault);
  return { quota_bytes: sizes.get(namespaceId) ?? 0, configured_quota: quotas.get(namespaceId) ?? null };
}

/** The namespace's quotas as the organization view lists them (Quay's `quotas`). */
export async function namespaceQuotas(db: Queryable, namespaceId: number) {
  const quotas: { id: number; limit_bytes: number | string }[] = await db('quotas').where('namespace_id', namespaceId).select('id', 'limit_bytes');
  const limits: { id: number; quota_id: number; type: string; percent: number }[] = quotas.length
    ? await db('quota_limits').whereIn('quota_id', quotas.map((q) => q.id)).orderBy('id').select('id', 'quota_id', 'type', 'percent')
    : [];
  return quotas.map((q) => ({
    id: Number(q.id),
    limit_bytes: Number(q.limit_bytes),
    limits: limits.filter((l) => Number(l.quota_id) === Number(q.id)).map((l) => ({ id: Number(l.id), type: l.type, limit_percent: Number(l.percent) })),
  }));
}
