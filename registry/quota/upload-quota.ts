// Quota checks while an upload's chunks arrive: a chunk that takes the namespace over a Reject
// limit ends the upload (its bytes and row go), as Quay cancels it, and is refused.
import { RegistryError } from '../errors.js';
import { deleteUpload, type UploadRecord } from '../metadata/blobs.js';
import type { RouteContext } from '../api/context.js';
import { requireQuotaRoom } from './enforce.js';

/** Refuses the upload once holding `size` bytes would put the namespace over a Reject limit. */
export async function requireChunkRoom(ctx: RouteContext, upload: UploadRecord, namespaceId: number, size: number): Promise<void> {
  if (!ctx.deps.config.FEATURE_QUOTA_MANAGEMENT) return;
  try {
    await requireQuotaRoom(ctx.deps.db, ctx.deps.config, namespaceId, size);
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'DENIED') {
      await ctx.deps.blobs.deleteUpload(upload.id);
      await deleteUpload(ctx.deps.db, upload.id);
    }
    throw err;
  }
}
