import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { splitRepositoryPath } from '../../src/auth/names.js';
import { findRepository, type Repository } from '../../src/repos/repositories.js';
import { formatDigest, requireDigest, type Digest } from '../digest.js';
import { regErr, RegistryError } from '../errors.js';
import {
  completeUpload, createUpload, deleteUpload, getUpload, linkBlob, repoBlobSize, setUploadSize, type UploadRecord,
} from '../metadata/blobs.js';
import { isUploadId } from '../storage/paths.js';
import { claimBlob } from '../gc/blob-guard.js';
import { requireQuotaRoom } from '../quota/enforce.js';
import { requireChunkRoom } from '../quota/upload-quota.js';
import type { RouteContext } from './context.js';

// Uploads as a state machine (OCI distribution spec, "Pushing blobs"):
//   POST → session (202) ─PATCH chunk at the current size→ session (202) ─PUT ?digest→ blob (201)
// and the shortcuts POST ?digest= (monolithic) and POST ?mount=&from= (cross-repository mount).

/** One request at a time per upload in this process, so a chunk's offset check and its write agree. */
const queues = new Map<string, Promise<void>>();

async function exclusive<T>(uploadId: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(uploadId) ?? Promise.resolve();
  let release!: () => void;
  const tail = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
  queues.set(uploadId, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (queues.get(uploadId) === tail) queues.delete(uploadId);
  }
}

function queryValue(req: FastifyRequest, key: string): string | undefined {
  const value = (req.query as Record<string, string | string[] | undefined>)[key];
  return Array.isArray(value) ? value[0] : value;
}

function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function declaredLength(req: FastifyRequest): number | undefined {
  const length = req.headers['content-length'];
  return length === undefined ? undefined : Number(length);
}

/** `Content-Range: <start>-<end>` (inclusive); a `bytes ` prefix is tolerated, as some clients send it. */
function contentRange(req: FastifyRequest): { start: number; end: number } | null {
  const header = req.headers['content-range'];
  if (header === undefined) return null;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());
  if (!m || Number(m[2]) < Number(m[1])) throw regErr('BLOB_UPLOAD_INVALID', `invalid Content-Range ${JSON.stringify(header)}`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** The Range header of an upload holding `size` bytes; `0-0` for an empty one, as registries answer. */
function rangeOf(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function sessionHeaders(ctx: RouteContext, uploadId: string, size: number): FastifyReply {
  return ctx.reply
    .header('location', `/v2/${ctx.name}/blobs/uploads/${uploadId}`)
    .header('range', rangeOf(size))
    .header('docker-upload-uuid', uploadId);
}

function sessionAnswer(ctx: RouteContext, status: 202 | 204, uploadId: string, size: number): FastifyReply {
  return sessionHeaders(ctx, uploadId, size).code(status).header('content-length', '0').send();
}

function blobCreated(ctx: RouteContext, digest: string): FastifyReply {
  return ctx.reply
    .code(201)
    .header('location', `/v2/${ctx.name}/blobs/${digest}`)
    .header('docker-content-digest', digest)
    .header('content-length', '0')
    .send();
}

/** The upload named in the URL, when it exists and belongs to this repository. */
async function loadUpload(ctx: RouteContext): Promise<{ upload: UploadRecord; repo: Repository }> {
  const uploadId = ctx.params[0]!;
  const unknown = regErr('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid: uploadId });
  if (!isUploadId(uploadId)) throw unknown;
  const upload = await getUpload(ctx.deps.db, uploadId);
  if (!upload) throw unknown;
  const repo = await ctx.repo().catch((err: unknown) => {
    throw err instanceof RegistryError && err.code === 'NAME_UNKNOWN' ? unknown : err;
  });
  if (upload.repositoryId !== repo.id) throw unknown;
  return { upload, repo };
}

/** Appends the request body as the upload's next chunk; resolves with the upload's new size. */
async function receiveChunk(ctx: RouteContext, upload: UploadRecord): Promise<number> {
  const range = contentRange(ctx.req);
  if (range && range.start !== upload.size) {
    sessionHeaders(ctx, upload.id, upload.size);
    throw regErr('RANGE_INVALID', `the chunk starts at ${range.start} but the upload holds ${upload.size} bytes`, { size: upload.size });
  }
  const announced = declaredLength(ctx.req);
  const rangeLength = range ? range.end - range.start + 1 : undefined;
  if (announced !== undefined && rangeLength !== undefined && announced !== rangeLength) {
    throw regErr('SIZE_INVALID', `Content-Range covers ${rangeLength} bytes but Content-Length is ${announced}`);
  }
  return ctx.deps.blobs.appendUpload(upload.id, ctx.req.raw, upload.size, announced ?? rangeLength);
}

/** Links a blob the caller may pull from `from`; false when the spec's fallback (a session) applies. */
async function tryMount(ctx: RouteContext, repo: Repository, digest: string, from: string | undefined): Promise<boolean> {
  const source = from === undefined ? null : splitRepositoryPath(from);
  if (!source || !(await ctx.caller.actions(from!)).has('pull')) return false;
  const sourceRepo = await findRepository(ctx.deps.db, source.namespace, source.repository);
  const size = sourceRepo ? await repoBlobSize(ctx.deps.db, sourceRepo.id, digest) : null;
  if (size === null) return false;
  // Claimed before the bytes are looked at, so the collector cannot delete what we found.
  await claimBlob(ctx.deps.db, digest);
  if ((await ctx.deps.blobs.statBlob(digest)) === null) return false;
  await linkBlob(ctx.deps.db, repo.id, digest, size);
  return true;
}

/** POST ?digest=: the whole blob in one request, through an upload that never gets a row. */
async function monolithic(ctx: RouteContext, repo: Repository, digest: Digest): Promise<FastifyReply> {
  const text = formatDigest(digest);
  const scratch = randomUUID();
  let size: number;
  try {
    size = await ctx.deps.blobs.appendUpload(scratch, ctx.req.raw, 0, declaredLength(ctx.req));
    // Before the bytes go to (or are found at) their content address: see registry/gc/collector.ts.
    await claimBlob(ctx.deps.db, text);
    await ctx.deps.blobs.commitUpload(scratch, text, size);
  } catch (err) {
    await ctx.deps.blobs.deleteUpload(scratch);
    throw err;
  }
  await linkBlob(ctx.deps.db, repo.id, text, size);
  return blobCreated(ctx, text);
}

export async function startUpload(ctx: RouteContext): Promise<unknown> {
  const repo = await ctx.repoForPush();
  // Over a Reject limit nothing more may come in (a monolithic body is counted by its length).
  const monolithicLength = queryValue(ctx.req, 'digest') !== undefined ? declaredLength(ctx.req) ?? 0 : 0;
  await requireQuotaRoom(ctx.deps.db, ctx.deps.config, repo.namespace_id, monolithicLength);
  const mount = queryValue(ctx.req, 'mount');
  if (mount !== undefined) {
    const digest = formatDigest(requireDigest(mount));
    if (await tryMount(ctx, repo, digest, queryValue(ctx.req, 'from'))) return blobCreated(ctx, digest);
  }
  const digest = queryValue(ctx.req, 'digest');
  if (digest !== undefined) return monolithic(ctx, repo, requireDigest(digest));
  const upload = await createUpload(ctx.deps.db, randomUUID(), repo.id);
  return sessionAnswer(ctx, 202, upload.id, 0);
}

export async function uploadStatus(ctx: RouteContext): Promise<unknown> {
  const { upload } = await loadUpload(ctx);
  return sessionAnswer(ctx, 204, upload.id, upload.size);
}

export async function appendChunk(ctx: RouteContext): Promise<unknown> {
  return exclusive(ctx.params[0]!, async () => {
    const { upload, repo } = await loadUpload(ctx);
    await requireChunkRoom(ctx, upload, repo.namespace_id, upload.size + (declaredLength(ctx.req) ?? 0));
    const size = await receiveChunk(ctx, upload);
    await requireChunkRoom(ctx, upload, repo.namespace_id, size);
    await setUploadSize(ctx.deps.db, upload.id, size);
    return sessionAnswer(ctx, 202, upload.id, size);
  });
}

/** PUT ?digest=: take the last chunk if there is one, verify, move into place, link. */
export async function finishUpload(ctx: RouteContext): Promise<unknown> {
  return exclusive(ctx.params[0]!, async () => {
    const { upload, repo } = await loadUpload(ctx);
    const digest = formatDigest(requireDigest(queryValue(ctx.req, 'digest')));
    // The last chunk's size is not recorded on its own: the commit right after settles the upload.
    if (hasBody(ctx.req)) await requireChunkRoom(ctx, upload, repo.namespace_id, upload.size + (declaredLength(ctx.req) ?? 0));
    const size = hasBody(ctx.req) ? await receiveChunk(ctx, upload) : upload.size;
    await requireChunkRoom(ctx, upload, repo.namespace_id, size);
    await claimBlob(ctx.deps.db, digest);
    try {
      await ctx.deps.blobs.commitUpload(upload.id, digest, size);
    } catch (err) {
      // The store has dropped the upload's bytes whatever went wrong; the row follows them.
      await deleteUpload(ctx.deps.db, upload.id);
      throw err;
    }
    await completeUpload(ctx.deps.db, upload.id, repo.id, digest, size);
    return blobCreated(ctx, digest);
  });
}

export async function cancelUpload(ctx: RouteContext): Promise<unknown> {
  return exclusive(ctx.params[0]!, async () => {
    const { upload } = await loadUpload(ctx);
    await ctx.deps.blobs.deleteUpload(upload.id);
    await deleteUpload(ctx.deps.db, upload.id);
    return ctx.reply.code(204).send();
  });
}
