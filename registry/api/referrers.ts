import { regErr } from '../errors.js';
import { parseDigest } from '../digest.js';
import { OCI_INDEX } from '../manifest/media-types.js';
import { listReferrers as findReferrers } from '../metadata/manifests.js';
import type { RouteContext } from './context.js';

/** The referrers API: an OCI index of the manifests whose subject is the digest, known or not. */
export async function listReferrers(ctx: RouteContext): Promise<unknown> {
  const subject = ctx.params[0]!;
  if (!parseDigest(subject)) throw regErr('DIGEST_INVALID', `invalid digest ${JSON.stringify(subject)}`);
  const repo = await ctx.repo();
  const { artifactType } = (ctx.req.query ?? {}) as Record<string, unknown>;
  const filter = typeof artifactType === 'string' && artifactType !== '' ? artifactType : undefined;
  const manifests = await findReferrers(ctx.deps.db, repo.id, subject, filter);
  if (filter !== undefined) ctx.reply.header('oci-filters-applied', 'artifactType');
  return ctx.reply
    .header('content-type', OCI_INDEX)
    // A Buffer, so that no charset parameter is appended to the media type.
    .send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })));
}
