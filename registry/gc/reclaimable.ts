// How much of a namespace's quota usage the next garbage collection pass would free: the blobs
// only manifests it would collect reference (retention.ts decides which, as the collector does).
import type { Queryable } from '../../src/db/index.js';
import { namespaceSizes } from '../../src/repos/namespace-size.js';
import { collectableManifests } from './retention.js';

export async function reclaimableBytes(db: Queryable, namespaceId: number, graceSeconds: number, now = Date.now()): Promise<number> {
  const ns: { tag_expiration_s: number | string } | undefined = await db('accounts').where('id', namespaceId).first('tag_expiration_s');
  if (!ns) return 0;
  const clock = { now, windowMs: Number(ns.tag_expiration_s) * 1000, graceMs: graceSeconds * 1000 };
  const repos: { id: number }[] = await db('repositories').where('namespace_id', namespaceId).select('id');
  const collectable: number[] = [];
  for (const repo of repos) collectable.push(...(await collectableManifests(db, Number(repo.id), clock)).map((m) => m.id));
  if (!collectable.length) return 0;
  const usage = (await namespaceSizes(db, [namespaceId])).get(namespaceId) ?? 0;
  const keptBlobs = db('manifest_blobs as mb')
    .join('manifests as m', 'm.id', 'mb.manifest_id')
    .join('repositories as r', 'r.id', 'm.repository_id')
    .where('r.namespace_id', namespaceId)
    .whereNotIn('m.id', collectable)
    .distinct('mb.digest');
  const row: { bytes?: number | string | null } | undefined = await db('blobs as b').whereIn('b.digest', keptBlobs).sum({ bytes: 'b.size' }).first();
  return usage - Number(row?.bytes ?? 0);
}
