// Namespace quotas and their limits (Quay's UserOrganizationQuota and QuotaLimits): one quota a
// namespace, any number of Warning/Reject limits at a percentage of it.
import type { Queryable } from '../../src/db/index.js';
import { conflict, notFound } from '../../src/errors.js';

export const LIMIT_TYPES = ['Warning', 'Reject'] as const;
export type LimitType = (typeof LIMIT_TYPES)[number];

export interface QuotaLimit {
  id: number;
  type: LimitType;
  percent: number;
}

export interface Quota {
  id: number;
  namespaceId: number;
  limitBytes: number;
  limits: QuotaLimit[];
}

async function limitsOf(db: Queryable, quotaIds: number[]): Promise<Map<number, QuotaLimit[]>> {
  const rows: { id: number; quota_id: number; type: LimitType; percent: number }[] = quotaIds.length
    ? await db('quota_limits').whereIn('quota_id', quotaIds).orderBy('id').select('id', 'quota_id', 'type', 'percent')
    : [];
  const byQuota = new Map<number, QuotaLimit[]>(quotaIds.map((id) => [id, []]));
  for (const r of rows) byQuota.get(Number(r.quota_id))!.push({ id: Number(r.id), type: r.type, percent: Number(r.percent) });
  return byQuota;
}

/** The namespace's quota with its limits, or null. */
export async function findQuota(db: Queryable, namespaceId: number): Promise<Quota | null> {
  const row: { id: number; limit_bytes: number | string } | undefined = await db('quotas').where('namespace_id', namespaceId).first('id', 'limit_bytes');
  if (!row) return null;
  const limits = await limitsOf(db, [Number(row.id)]);
  return { id: Number(row.id), namespaceId, limitBytes: Number(row.limit_bytes), limits: limits.get(Number(row.id))! };
}

/** The quota `id` of the namespace; 404 when the namespace has no quota of that id. */
export async function requireQuota(db: Queryable, namespaceId: number, id: number): Promise<Quota> {
  const quota = await findQuota(db, namespaceId);
  if (!quota || quota.id !== id) throw notFound(`quota ${id} does not exist`);
  return quota;
}

export async function createQuota(db: Queryable, namespaceId: number, limitBytes: number): Promise<Quota> {
  if (await db('quotas').where('namespace_id', namespaceId).first('id')) throw conflict('this namespace already has a quota; change it instead');
  const [row] = await db('quotas').insert({ namespace_id: namespaceId, limit_bytes: limitBytes, created_at: Date.now() }).returning('id');
  return { id: Number((row as { id: number }).id), namespaceId, limitBytes, limits: [] };
}

export async function changeQuota(db: Queryable, quota: Quota, limitBytes: number): Promise<Quota> {
  await db('quotas').where('id', quota.id).update({ limit_bytes: limitBytes });
  return { ...quota, limitBytes };
}

/** Removes the quota and its limits. */
export async function deleteQuota(db: Queryable, quota: Quota): Promise<void> {
  await db('quotas').where('id', quota.id).delete();
}

export function requireLimit(quota: Quota, limitId: number): QuotaLimit {
  const limit = quota.limits.find((l) => l.id === limitId);
  if (!limit) throw notFound(`quota limit ${limitId} does not exist`);
  return limit;
}

function refuseDuplicate(quota: Quota, type: LimitType, percent: number, except?: number): void {
  if (quota.limits.some((l) => l.id !== except && l.type === type && l.percent === percent)) {
    throw conflict(`a ${type} limit at ${percent}% already exists`, 'threshold_percent');
  }
}

export async function addLimit(db: Queryable, quota: Quota, type: LimitType, percent: number): Promise<QuotaLimit> {
  refuseDuplicate(quota, type, percent);
  const [row] = await db('quota_limits').insert({ quota_id: quota.id, type, percent }).returning('id');
  return { id: Number((row as { id: number }).id), type, percent };
}

export async function changeLimit(db: Queryable, quota: Quota, limit: QuotaLimit, change: { type?: LimitType; percent?: number }): Promise<QuotaLimit> {
  const next = { ...limit, ...(change.type ? { type: change.type } : {}), ...(change.percent !== undefined ? { percent: change.percent } : {}) };
  refuseDuplicate(quota, next.type, next.percent, limit.id);
  await db('quota_limits').where('id', limit.id).update({ type: next.type, percent: next.percent });
  return next;
}

export async function deleteLimit(db: Queryable, limit: QuotaLimit): Promise<void> {
  await db('quota_limits').where('id', limit.id).delete();
}
