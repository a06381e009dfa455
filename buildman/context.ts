// Turns an uploaded build source into a checked tar of the build context on disk
// (DATA_DIR/build-contexts/<id>.tar), refusing anything unsafe with a clear 400 before a build
// exists: a bare Dockerfile, a .tar / .tar.gz / .zip archive, or an http(s) archive_url.
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { invalid } from '../src/errors.js';

export const MAX_CONTEXT_BYTES = 512 * 1024 * 1024;

export interface ContextPaths {
  subdirectory?: string;
  dockerfile_path?: string;
  context?: string;
}

export interface PreparedContext {
  /** The checked tar of the context directory. */
  tarPath: string;
  /** The Dockerfile's path inside that context. */
  dockerfilePath: string;
  /** As Quay reports them: the context and the Dockerfile path from the archive's root, with a leading slash. */
  context: string;
  dockerfileFromRoot: string;
}

/** One path inside the archive, normalized; refused when absolute or climbing out with `..`. */
function safeEntryPath(raw: string, what: string): string {
  if (raw.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(raw)) throw invalid('file', `the archive holds an absolute path (${what} ${raw})`);
  const parts = raw.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid('file', `the archive holds a path that leaves the context (${what} ${raw})`);
  return parts.join('/');
}

/** A link's target must stay inside the archive. */
function checkLink(entryPath: string, target: string, hard: boolean): void {
  if (target.startsWith('/')) throw invalid('file', `the archive holds a link pointing outside the context (${entryPath} -> ${target})`);
  const resolved = path.posix.normalize(hard ? target : path.posix.join(path.posix.dirname(entryPath), target));
  if (resolved === '..' || resolved.startsWith('../')) throw invalid('file', `the archive holds a link pointing outside the context (${entryPath} -> ${target})`);
}

/** Refuses a tar holding absolute or climbing paths, links leading out, or devices and fifos. */
export async function checkTar(file: string): Promise<void> {
  let problem: Error | null = null;
  await tar.list({
    file,
    strict: true,
    onReadEntry(entry) {
      if (problem) return;
      try {
        const p = safeEntryPath(entry.path, 'entry');
        if (entry.type === 'SymbolicLink' || entry.type === 'Link') checkLink(p, entry.linkpath ?? '', entry.type === 'Link');
        else if (!['File', 'OldFile', 'ContiguousFile', 'Directory', 'GNUDumpDir'].includes(entry.type) && !/Header|ExtendedHeader|NextFileHas/.test(entry.type)) {
          throw invalid('file', `the archive holds a ${entry.type} entry (${entry.path}); only files, folders and links are allowed`);
        }
      } catch (err) {
        problem = err as Error;
      }
    },
  }).catch((err: Error) => {
    throw invalid('file', `the archive could not be read as tar: ${err.message}`);
  });
  if (problem) throw problem;
}

async function extractZip(file: string, dest: string): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, strictFileNames: false }, (err, z) => (err ? reject(invalid('file', `the archive could not be read as zip: ${err.message}`)) : resolve(z!))),
  );
  const entries: { entry: yauzl.Entry; rel: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      try {
        entries.push({ entry, rel: safeEntryPath(entry.fileName, 'entry') });
        zip.readEntry();
      } catch (err) {
        zip.close();
        reject(err);
      }
    });
    zip.on('end', resolve);
    zip.on('error', (err: Error) => reject(invalid('file', `the archive could not be read as zip: ${err.message}`)));
    zip.readEntry();
  });
  const z2 = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(file, { lazyEntries: true, autoClose: false }, (e, z) => (e ? reject(e) : resolve(z!))));
  try {
    for (const { entry, rel } of entries) {
      const target = path.join(dest, rel);
      if (entry.fileName.endsWith('/')) {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      const stream = await new Promise<Readable>((resolve, reject) => z2.openReadStream(entry, (e, s) => (e ? reject(e) : resolve(s!))));
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      if (mode === 0o120000) {
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        const linkTarget = Buffer.concat(chunks).toString('utf8');
        checkLink(rel, linkTarget, false);
        await symlink(linkTarget, target);
      } else {
        await pipeline(stream, createWriteStream(target));
      }
    }
  } finally {
    z2.close();
  }
}

async function sniff(file: string): Promise<'gzip' | 'zip' | 'tar' | 'dockerfile'> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'gzip';
    if (bytesRead >= 4 && buf.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (bytesRead >= 262 && buf.toString('latin1', 257, 262) === 'ustar') return 'tar';
    if (buf.subarray(0, bytesRead).includes(0)) throw invalid('file', 'the upload is neither a Dockerfile nor a .tar, .tar.gz or .zip archive');
    return 'dockerfile';
  } finally {
    await fh.close();
  }
}

/** Quay's rules: dockerfile_path → its folder is the context; subdirectory → subdir/Dockerfile; else context/Dockerfile. */
export function resolvePaths(p: ContextPaths): { context: string; dockerfile: string } {
  if (p.subdirectory && p.dockerfile_path) throw invalid('subdirectory', 'give subdirectory or dockerfile_path, not both');
  const clean = (v: string, field: string) => {
    if (v.split(/[\\/]/).includes('..')) throw invalid(field, `${field} must not contain ..`);
    return v.split('/').filter((s) => s !== '' && s !== '.').join('/');
  };
  if (p.dockerfile_path) {
    const dockerfile = clean(p.dockerfile_path, 'dockerfile_path');
    if (!dockerfile) throw invalid('dockerfile_path', 'dockerfile_path names no file');
    return { dockerfile, context: p.context !== undefined ? clean(p.context, 'context') : path.posix.dirname(dockerfile).replace(/^\.$/, '') };
  }
  if (p.subdirectory) {
    const sub = clean(p.subdirectory, 'subdirectory');
    return { context: sub, dockerfile: sub ? `${sub}/Dockerfile` : 'Dockerfile' };
  }
  const context = clean(p.context ?? '', 'context');
  return { context, dockerfile: context ? `${context}/Dockerfile` : 'Dockerfile' };
}

/** Checks and unpacks `upload` (a file on disk), then writes the context tar; the upload is left to the caller. */
export async function prepareContext(dataDir: string, upload: string, paths: ContextPaths): Promise<PreparedContext> {
  const root = path.join(dataDir, 'build-contexts');
  await mkdir(root, { recursive: true });
  const work = await mkdtemp(path.join(root, 'work-'));
  try {
    const tree = path.join(work, 'tree');
    await mkdir(tree);
    const kind = await sniff(upload);
    if (kind === 'dockerfile') {
      await writeFile(path.join(tree, 'Dockerfile'), await readFile(upload));
    } else if (kind === 'zip') {
      await extractZip(upload, tree);
    } else {
      let tarFile = upload;
      if (kind === 'gzip') {
        tarFile = path.join(work, 'upload.tar');
        const { createGunzip } = await import('node:zlib');
        const { createReadStream } = await import('node:fs');
        await pipeline(createReadStream(upload), createGunzip(), capBytes(MAX_CONTEXT_BYTES * 4, 'the unpacked archive'), createWriteStream(tarFile)).catch((err: Error) => {
          throw err instanceof Error && 'kind' in err ? err : invalid('file', `the archive could not be read as gzip: ${err.message}`);
        });
      }
      await checkTar(tarFile);
      await tar.extract({ file: tarFile, cwd: tree, preserveOwner: false, noChmod: true });
    }
    return await packContext(tree, kind === 'dockerfile' ? { ...paths, subdirectory: undefined, dockerfile_path: undefined, context: undefined } : paths, path.join(root, `${randomUUID()}.tar`));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Applies Quay's path rules to an unpacked source tree (an upload, a git checkout) and writes the
 * context folder's tar to `tarPath`. `what` names the tree in errors ("the archive", "the commit").
 */
export async function packContext(tree: string, paths: ContextPaths, tarPath: string, what = 'the archive'): Promise<PreparedContext> {
  const { context, dockerfile } = resolvePaths(paths);
  const contextDir = path.join(tree, context);
  const contextStat = await stat(contextDir).catch(() => null);
  if (!contextStat?.isDirectory()) throw invalid('context', `${what} has no folder ${context || '/'} to use as the context`);
  const dfStat = await stat(path.join(tree, dockerfile)).catch(() => null);
  if (!dfStat?.isFile()) throw invalid(paths.dockerfile_path ? 'dockerfile_path' : 'file', `${what} holds no Dockerfile at /${dockerfile}`);
  const inContext = path.posix.relative(context || '.', dockerfile);
  if (inContext.startsWith('..')) throw invalid('dockerfile_path', `the Dockerfile /${dockerfile} lies outside the context /${context}`);
  // A tree whose links were not checked on the way in (a git checkout) could name a context or
  // Dockerfile through a link that leaves it; the tar would then hold the server's own files.
  const realTree = await realpath(tree);
  for (const p of [contextDir, path.join(tree, dockerfile)]) {
    const real = await realpath(p);
    if (real !== realTree && !real.startsWith(realTree + path.sep)) throw invalid('context', `/${path.relative(tree, p)} in ${what} is a link leading out of it`);
  }
  await tar.create({ file: tarPath, cwd: contextDir, portable: true }, ['.']);
  return { tarPath, dockerfilePath: inContext, context: `/${context}`, dockerfileFromRoot: `/${dockerfile}` };
}

function capBytes(max: number, what: string): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max) cb(invalid('file', `${what} is larger than ${max} bytes`));
      else cb(null, chunk);
    },
  });
}

/** Fetches an archive_url (http or https only) into `dest`, with a size cap and a timeout. */
export async function fetchArchive(url: string, dest: string, opts: { timeoutMs: number; maxBytes?: number } = { timeoutMs: 30_000 }): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('archive_url', 'archive_url is not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid('archive_url', `archive_url must be http or https, not ${parsed.protocol.replace(/:$/, '')}`);
  const maxBytes = opts.maxBytes ?? MAX_CONTEXT_BYTES;
  let res: Response;
  try {
    res = await fetch(parsed, { signal: AbortSignal.timeout(opts.timeoutMs), redirect: 'follow' });
  } catch (err) {
    throw invalid('archive_url', `archive_url did not answer: ${(err as Error).cause ? String((err as { cause: Error }).cause.message ?? (err as Error).cause) : (err as Error).message}`);
  }
  if (!res.ok || !res.body) throw invalid('archive_url', `archive_url answered ${res.status} ${res.statusText}`.trim());
  if (Number(res.headers.get('content-length') ?? 0) > maxBytes) throw invalid('archive_url', `the archive at archive_url is larger than ${maxBytes} bytes`);
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), capBytes(maxBytes, 'the archive at archive_url'), createWriteStream(dest));
  } catch (err) {
    if (err instanceof Error && 'kind' in err) throw err;
    throw invalid('archive_url', `fetching archive_url failed: ${(err as Error).message}`);
  }
}
