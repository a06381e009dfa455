import type { IncomingMessage } from 'node:http';
import { TAG_RE } from '../../src/auth/names.js';
import type { Repository } from '../../src/repos/repositories.js';
import { RegistryError, regErr } from '../errors.js';
import { digestOf, parseDigest } from '../digest.js';
import { accepts } from '../manifest/media-types.js';
import { parseManifest, type ParsedManifest } from '../manifest/parse.js';
import {
  deleteManifest as removeManifest, manifestContent, referenceUnknown, resolveDigest, resolveTag, storeManifest,
  type ManifestHead,
} from '../metadata/manifests.js';
import { deleteTag, deleteTagLogEntries } from '../metadata/tag-history.js';
import { DomainError } from '../../src/errors.js';
import { imageConfigLabels } from '../metadata/labels.js';
import { recordLog, type Performer } from '../../src/audit/usage-log.js';
import { logBuffer } from '../../src/audit/log-buffer.js';
import type { RouteContext } from './context.js';
import { requireManifestRoom } from '../quota/enforce.js';

type Reference = { tag: string; digest?: undefined } | { digest: string; tag?: undefined };

/** A manifest reference from the URL: a digest (it has a colon) or a tag. */
function parseReference(ctx: RouteContext): Reference {
  const ref = ctx.params[0]!;
  if (ref.includes(':')) {
    if (!parseDigest(ref)) throw regErr('DIGEST_INVALID', `invalid digest ${JSON.stringify(ref)}: expected sha256:<64 hex> or sha512:<128 hex>`);
    return { digest: ref };
  }
  if (!TAG_RE.test(ref)) throw regErr('MANIFEST_INVALID', `invalid tag ${JSON.stringify(ref)}`, { tag: ref });
  return { tag: ref };
}

function tooLarge(max: number): RegistryError {
  return regErr('MANIFEST_TOO_LARGE', `manifest exceeds the limit of ${max} bytes`, { limit: max });
}

/** Reads the request body, giving up (without reading on) as soon as it exceeds `max` bytes. */
function readCapped(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > max) return Promise.reject(tooLarge(max));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (fn: () => void) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      fn();
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= max) return void chunks.push(chunk);
      req.pause();
      settle(() => reject(tooLarge(max)));
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks, total)));
    const onError = (err: Error) => settle(() => reject(err));
    const onClose = () => settle(() => reject(new Error('the client closed the connection during the manifest upload')));
    req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

async function readManifestBody(ctx: RouteContext): Promise<Buffer> {
  try {
    return await readCapped(ctx.req.raw, ctx.deps.config.MAXIMUM_MANIFEST_SIZE);
  } catch (err) {
    // The rest of an oversized body stays unread: close the connection rather than drain it.
    if (err instanceof RegistryError) ctx.reply.raw.setHeader('connection', 'close');
    throw err;
  }
}

/** The repository to push into; one that does not exist yet holds nothing a manifest could name. */
async function pushTarget(ctx: RouteContext, parsed: ParsedManifest): Promise<Repository> {
  const first = parsed.blobs[0] ?? parsed.children[0];
  if (first !== undefined) {
    const existing = await ctx.repo().catch((err: unknown) => {
      if (err instanceof RegistryError && err.code === 'NAME_UNKNOWN') return null;
      throw err;
    });
    if (!existing) throw referenceUnknown(first);
  }
  return ctx.repoForPush();
}

export async function putManifest(ctx: RouteContext): Promise<unknown> {
  const ref = parseReference(ctx);
  const bytes = await readManifestBody(ctx);
  const digest = digestOf(bytes, ref.digest ? parseDigest(ref.digest)!.algorithm : 'sha256');
  if (ref.digest && ref.digest !== digest) {
    throw regErr('DIGEST_INVALID', `the manifest's digest is ${digest}, not ${ref.digest}`, { expected: ref.digest, computed: digest });
  }
  const parsed = parseManifest(bytes, ctx.req.headers['content-type']);
  const repo = await pushTarget(ctx, parsed);
  await requireManifestRoom(ctx.deps.db, ctx.deps.config, repo.namespace_id, parsed.blobs);
  // The config is read into memory like a manifest, so the manifest size limit caps it too.
  const labels = await imageConfigLabels(ctx.deps.blobs, parsed, ctx.deps.config.MAXIMUM_MANIFEST_SIZE);
  await storeManifest(ctx.deps.db, repo.id, { digest, bytes, parsed, tag: ref.tag, labels });
  await recordLog(ctx.deps.db, {
    kind: 'push_repo', performer: performerOf(ctx), ip: ctx.req.ip,
    namespace: { id: repo.namespace_id, name: repo.namespace }, repository: { id: repo.id, name: repo.name },
    metadata: { namespace: repo.namespace, repo: repo.name, ...(ref.tag !== undefined ? { tag: ref.tag } : {}), manifest_digest: digest },
  });
  ctx.reply.code(201).header('location', `/v2/${ctx.name}/manifests/${digest}`).header('docker-content-digest', digest);
  if (parsed.subject) ctx.reply.header('oci-subject', parsed.subject);
  return ctx.reply.send();
}

async function unknownManifest(ctx: RouteContext, ref: Reference): Promise<never> {
  await ctx.repo(); // NAME_UNKNOWN when it is the repository that is missing
  throw regErr('MANIFEST_UNKNOWN', `manifest ${ref.tag ?? ref.digest} is not in ${ctx.name}`, ref.tag ? { tag: ref.tag } : { digest: ref.digest });
}

function performerOf(ctx: RouteContext): Performer {
  return { kind: ctx.caller.kind, accountId: ctx.caller.accountId, name: ctx.caller.name };
}

function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  return ifNoneMatch !== undefined && ifNoneMatch.split(',').some((t) => ['*', etag, `W/${etag}`].includes(t.trim()));
}

export async function getManifest(ctx: RouteContext): Promise<unknown> {
  const ref = parseReference(ctx);
  const { db } = ctx.deps;
  const path = { namespace: ctx.namespace, repository: ctx.repository };
  const head: ManifestHead | null = ref.tag !== undefined ? await resolveTag(db, path, ref.tag, Date.now()) : await resolveDigest(db, path, ref.digest);
  if (!head) return unknownManifest(ctx, ref);
  // As the reference registry does: a manifest the client cannot read is, to that client, not there.
  if (!accepts(ctx.req.headers.accept, head.mediaType)) {
    throw regErr('MANIFEST_UNKNOWN', `manifest is ${head.mediaType}, which the Accept header does not include`, { mediaType: head.mediaType });
  }
  const etag = `"${head.digest}"`;
  ctx.reply.header('content-type', head.mediaType).header('docker-content-digest', head.digest).header('etag', etag);
  if (matchesEtag(ctx.req.headers['if-none-match'], etag)) return ctx.reply.code(304).send();
  if (ctx.req.method === 'HEAD') return ctx.reply.header('content-length', head.size).send();
  const bytes = await manifestContent(db, head);
  if (!bytes) return unknownManifest(ctx, ref); // deleted since we resolved it
  // Queued, not awaited: the pull's answer does not wait for its log row.
  logBuffer(db, ctx.deps.log).add({
    kind: 'pull_repo', performer: performerOf(ctx), ip: ctx.req.ip,
    namespace: ctx.namespace, repository: { id: head.repositoryId, name: ctx.repository },
    metadata: { namespace: ctx.namespace, repo: ctx.repository, ...(ref.tag !== undefined ? { tag: ref.tag } : { manifest_digest: head.digest }) },
  });
  return ctx.reply.send(bytes);
}

export async function deleteManifest(ctx: RouteContext): Promise<unknown> {
  const ref = parseReference(ctx);
  const repo = await ctx.repo();
  const { db } = ctx.deps;
  const found = ref.tag !== undefined ? await untag(ctx, repo, ref.tag) : await removeManifest(db, repo.id, ref.digest);
  if (!found) return unknownManifest(ctx, ref);
  return ctx.reply.code(202).send();
}

/** DELETE by tag: the tag (and its cosign siblings) end as through the tag API, logged as delete_tag. */
async function untag(ctx: RouteContext, repo: Repository, tag: string): Promise<boolean> {
  return ctx.deps.db.transaction(async (tx) => {
    let ended: Awaited<ReturnType<typeof deleteTag>>;
    try {
      ended = await deleteTag(tx, repo.id, tag);
    } catch (err) {
      if (err instanceof DomainError && err.kind === 'not_found') return false;
      throw err;
    }
    for (const entry of deleteTagLogEntries(repo, tag, ended)) await recordLog(tx, { ...entry, performer: performerOf(ctx), ip: ctx.req.ip });
    return true;
  });
}
