// Tags set by builds. An executor pushes the image under a staging tag; when the build completes,
// the build manager calls settle in the transaction that marks it complete, so its tags appear
// all at once, and never for a build that failed or was cancelled part-way through its push.
import type { Queryable } from '../../src/db/index.js';
import { endTag, moveTag } from './tags.js';
import { manifestExpiresAfterMs } from './labels.js';

export interface EndedBuildTags {
  repositoryId: number;
  stagingTag: string;
  tags: string[];
  /** The pushed manifest when the build completed; null when it failed or was cancelled. */
  digest: string | null;
}

/** Points an ended build's tags at its manifest (when it completed) and ends its staging tag. Idempotent. */
export async function settleBuildTags(db: Queryable, ended: EndedBuildTags): Promise<void> {
  if (ended.digest) {
    const manifest = await db('manifests').where({ repository_id: ended.repositoryId, digest: ended.digest }).first('id');
    if (!manifest) throw new Error(`the build's manifest ${ended.digest} is not in the repository`);
    // A Dockerfile's `LABEL quay.expires-after=…` makes the build's tags expire, as a push of the image would.
    const expiresAfterMs = await manifestExpiresAfterMs(db, ended.repositoryId, ended.digest);
    for (const tag of ended.tags) await moveTag(db, ended.repositoryId, tag, ended.digest, { expiresAfterMs });
  }
  await endTag(db, ended.repositoryId, ended.stagingTag, Date.now());
}
