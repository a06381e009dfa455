import { formatDigest, requireDigest } from '../digest.js';
import { regErr } from '../errors.js';
import { repoBlobSize, unlinkBlob } from '../metadata/blobs.js';
import type { ByteRange } from '../storage/blob-store.js';
import type { RouteContext } from './context.js';
import { sendFile } from './send-file.js';

/**
 * The single `Range: bytes=…` a client asked for, within a blob of `size` bytes: null to send
 * the whole blob (no header, or one we may ignore: multiple ranges, or malformed, as RFC 9110
 * allows), 'unsatisfiable' when it starts past the end.
 */
export function requestedRange(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) };
}

/** GET and HEAD: only blobs this repository links are visible through it. */
export async function getBlob(ctx: RouteContext): Promise<unknown> {
  const digest = formatDigest(requireDigest(ctx.params[0]));
  const repo = await ctx.repo();
  const size = await repoBlobSize(ctx.deps.db, repo.id, digest);
  if (size === null) throw regErr('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
  const reply = ctx.reply
    .header('docker-content-digest', digest)
    .header('etag', `"${digest}"`)
    .header('accept-ranges', 'bytes');
  if (ctx.req.method === 'HEAD') {
    return reply.code(200).header('content-type', 'application/octet-stream').header('content-length', String(size)).send();
  }
  const range = requestedRange(ctx.req.headers.range, size);
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${size}`);
    throw regErr('RANGE_INVALID', 'the requested range is not satisfiable', { size });
  }
  const file = await ctx.deps.blobs.openBlobFile(digest);
  reply.header('content-type', 'application/octet-stream');
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', String(range.end - range.start + 1));
  } else {
    reply.code(200).header('content-length', String(size));
  }
  if (file) return sendFile(reply, file, range ?? { start: 0, end: size - 1 });
  return reply.send(await ctx.deps.blobs.openBlob(digest, range ?? undefined));
}

/** Unlinks the blob from this repository; its bytes stay for other repositories and for GC. */
export async function deleteBlob(ctx: RouteContext): Promise<unknown> {
  const digest = formatDigest(requireDigest(ctx.params[0]));
  const repo = await ctx.repo();
  if (!(await unlinkBlob(ctx.deps.db, repo.id, digest))) throw regErr('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
  return ctx.reply.code(202).header('content-length', '0').send();
}
