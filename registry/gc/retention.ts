// Which of a repository's manifests garbage collection keeps: the rule the collector applies and
// the quota view's "reclaimable" figure predicts, in one place.
//
// A manifest is kept when a tag row still protects it (alive, or ended inside the namespace's
// time machine window), when it is younger than the grace period (a push by digest, or a child
// pushed before its index), when a kept index lists it as a child, or when it is a referrer
// whose subject is kept. Everything else goes, and a referrer of a collected manifest with it.
import type { Queryable } from '../../src/db/index.js';

export interface RetentionClock {
  now: number;
  /** The namespace's time machine window, in milliseconds. */
  windowMs: number;
  graceMs: number;
}

export interface ManifestNode {
  id: number;
  digest: string;
  subject: string | null;
}

/** The repository's manifests garbage collection would delete now, in no particular order. */
export async function collectableManifests(db: Queryable, repositoryId: number, clock: RetentionClock): Promise<ManifestNode[]> {
  const manifests: { id: number; digest: string; subject_digest: string | null; created_at: number | string }[] = await db('manifests')
    .where('repository_id', repositoryId)
    .select('id', 'digest', 'subject_digest', 'created_at');
  if (!manifests.length) return [];
  const tagged: { manifest_digest: string }[] = await db('tags')
    .where('repository_id', repositoryId)
    .andWhere((w) => w.whereNull('lifetime_end').orWhere('lifetime_end', '>', clock.now - clock.windowMs))
    .distinct('manifest_digest');
  const edges: { manifest_id: number; child_digest: string }[] = await db('manifest_children as mc')
    .join('manifests as m', 'm.id', 'mc.manifest_id')
    .where('m.repository_id', repositoryId)
    .select('mc.manifest_id', 'mc.child_digest');

  const byDigest = new Map(manifests.map((m) => [m.digest, m]));
  const children = new Map<number, string[]>();
  for (const e of edges) children.set(Number(e.manifest_id), [...(children.get(Number(e.manifest_id)) ?? []), e.child_digest]);
  const referrers = new Map<string, string[]>();
  for (const m of manifests) if (m.subject_digest) referrers.set(m.subject_digest, [...(referrers.get(m.subject_digest) ?? []), m.digest]);

  const kept = new Set<string>();
  const queue: string[] = [];
  const keep = (digest: string) => {
    if (!byDigest.has(digest) || kept.has(digest)) return;
    kept.add(digest);
    queue.push(digest);
  };
  for (const t of tagged) keep(t.manifest_digest);
  for (const m of manifests) if (Number(m.created_at) > clock.now - clock.graceMs) keep(m.digest);
  while (queue.length) {
    const digest = queue.pop()!;
    for (const child of children.get(Number(byDigest.get(digest)!.id)) ?? []) keep(child);
    for (const referrer of referrers.get(digest) ?? []) keep(referrer);
  }
  return manifests
    .filter((m) => !kept.has(m.digest))
    .map((m) => ({ id: Number(m.id), digest: m.digest, subject: m.subject_digest }));
}

/**
 * Whether the manifest may be deleted right now, checked row by row inside the deleting
 * transaction: the same rule as above, for one manifest, against whatever is committed by then.
 * Rechecking in an order (indexes before their children, subjects before their referrers) is
 * what lets one pass collect a whole chain.
 */
export async function stillCollectable(db: Queryable, repositoryId: number, node: ManifestNode, clock: RetentionClock): Promise<boolean> {
  const row = await db('manifests').where({ id: node.id }).first('created_at');
  if (!row || Number(row.created_at) > clock.now - clock.graceMs) return false;
  const tag = await db('tags')
    .where({ repository_id: repositoryId, manifest_digest: node.digest })
    .andWhere((w) => w.whereNull('lifetime_end').orWhere('lifetime_end', '>', clock.now - clock.windowMs))
    .first('id');
  if (tag) return false;
  const parent = await db('manifest_children as mc')
    .join('manifests as m', 'm.id', 'mc.manifest_id')
    .where({ 'm.repository_id': repositoryId, 'mc.child_digest': node.digest })
    .first('m.id');
  if (parent) return false;
  if (node.subject) {
    const subject = await db('manifests').where({ repository_id: repositoryId, digest: node.subject }).first('id');
    if (subject) return false;
  }
  return true;
}
