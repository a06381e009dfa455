// Quota enforcement at push time (Quay's check_limits): a namespace's usage after the push is
// compared with each limit (limit_bytes × percent / 100). Over a Reject limit the push is refused
// with the message podman and skopeo show; over a Warning limit it goes through, and either way
// an event is recorded for notifications. The check reads committed usage, so two pushes racing
// past the limit together can both pass: a quota bounds growth at push time, it is no lock.
import type { Config } from '../../src/config/schema.js';
import type { Queryable } from '../../src/db/index.js';
import { namespaceSizes } from '../../src/repos/namespace-size.js';
import { regErr } from '../errors.js';
import { findQuota, type LimitType } from './quota-store.js';

export const QUOTA_EXCEEDED = 'Quota has been exceeded on namespace';

type QuotaConfig = Pick<Config, 'FEATURE_QUOTA_MANAGEMENT' | 'DEFAULT_SYSTEM_REJECT_QUOTA_BYTES' | 'QUOTA_NOTIFICATION_COOLDOWN_SECONDS'>;

interface Crossed {
  type: LimitType;
  percent: number;
  limitBytes: number;
}

/** The namespace's committed usage: what its stored manifests reference. */
export async function namespaceUsage(db: Queryable, namespaceId: number): Promise<number> {
  return (await namespaceSizes(db, [namespaceId])).get(namespaceId) ?? 0;
}

/** Bytes the blobs would add to the namespace: those its manifests do not reference yet. */
export async function bytesAdded(db: Queryable, namespaceId: number, digests: string[]): Promise<number> {
  if (!digests.length) return 0;
  const counted = db('manifest_blobs as mb')
    .join('manifests as m', 'm.id', 'mb.manifest_id')
    .join('repositories as r', 'r.id', 'm.repository_id')
    .where('r.namespace_id', namespaceId)
    .whereRaw('mb.digest = b.digest')
    .select(db.raw('1'));
  const row: { bytes?: number | string | null } | undefined = await db('blobs as b')
    .whereIn('b.digest', [...new Set(digests)])
    .whereNotExists(counted)
    .sum({ bytes: 'b.size' })
    .first();
  return Number(row?.bytes ?? 0);
}

/** The highest Reject and Warning limits the usage is over. */
async function crossedLimits(db: Queryable, config: QuotaConfig, namespaceId: number, usage: number): Promise<{ reject?: Crossed; warning?: Crossed }> {
  const quota = await findQuota(db, namespaceId);
  const limitBytes = quota?.limitBytes ?? config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES;
  if (limitBytes <= 0) return {};
  const limits = quota ? quota.limits : [{ type: 'Reject' as const, percent: 100 }];
  const over = limits
    .filter((l) => usage > (limitBytes * l.percent) / 100)
    .sort((a, b) => b.percent - a.percent)
    .map((l) => ({ type: l.type, percent: l.percent, limitBytes }));
  return { reject: over.find((l) => l.type === 'Reject'), warning: over.find((l) => l.type === 'Warning') };
}

/** Records a quota_warning / quota_error event unless one for the same threshold is recent. */
async function recordEvent(db: Queryable, config: QuotaConfig, namespaceId: number, kind: 'quota_warning' | 'quota_error', crossed: Crossed, usage: number): Promise<void> {
  const now = Date.now();
  const recent = await db('quota_events')
    .where({ namespace_id: namespaceId, kind, threshold_percent: crossed.percent })
    .andWhere('created_at', '>', now - config.QUOTA_NOTIFICATION_COOLDOWN_SECONDS * 1000)
    .first('id');
  if (recent) return;
  await db('quota_events').insert({
    namespace_id: namespaceId, kind, threshold_percent: crossed.percent, usage_bytes: usage, limit_bytes: crossed.limitBytes, created_at: now,
  });
}

/**
 * Refuses (403 DENIED) a push that would take the namespace's usage to `usage` bytes when that is
 * over a Reject limit; records the events. Does nothing with FEATURE_QUOTA_MANAGEMENT off.
 */
export async function requireQuotaRoom(db: Queryable, config: QuotaConfig, namespaceId: number, extraBytes: number): Promise<void> {
  if (!config.FEATURE_QUOTA_MANAGEMENT) return;
  const usage = (await namespaceUsage(db, namespaceId)) + extraBytes;
  const { reject, warning } = await crossedLimits(db, config, namespaceId, usage);
  if (warning) await recordEvent(db, config, namespaceId, 'quota_warning', warning, usage);
  if (reject) {
    await recordEvent(db, config, namespaceId, 'quota_error', reject, usage);
    throw regErr('DENIED', QUOTA_EXCEEDED, {});
  }
}

/** The namespace's quota events, newest first (for notifications and the quota view). */
export async function quotaEvents(db: Queryable, namespaceId: number, limit = 50) {
  const rows: Record<string, unknown>[] = await db('quota_events').where('namespace_id', namespaceId).orderBy('id', 'desc').limit(limit);
  return rows.map((r) => ({
    kind: String(r.kind), threshold_percent: r.threshold_percent == null ? null : Number(r.threshold_percent),
    usage_bytes: Number(r.usage_bytes), limit_bytes: Number(r.limit_bytes), created: Math.floor(Number(r.created_at) / 1000),
  }));
}

/** At manifest PUT: the namespace's usage once the manifest's blobs count too. */
export async function requireManifestRoom(db: Queryable, config: QuotaConfig, namespaceId: number, blobDigests: string[]): Promise<void> {
  if (!config.FEATURE_QUOTA_MANAGEMENT) return;
  await requireQuotaRoom(db, config, namespaceId, await bytesAdded(db, namespaceId, blobDigests));
}
