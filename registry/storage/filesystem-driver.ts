import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { PathNotFoundError, type StorageDriver } from './driver.js';

// Large buffers on both sides: blobs run to gigabytes, and syscall count is what limits MB/s.
const READ_CHUNK = 1 << 20;
const WRITE_BUFFER = 4 << 20;

const SEGMENT_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** mkdir -p, then fsyncs the parent of every folder it created so the new entries survive a crash. */
async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (!first) return;
  for (let d = dir; ; d = path.dirname(d)) {
    await fsyncDir(path.dirname(d));
    if (d === first) break;
  }
}

async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let pending = buffers;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending);
    // A short write (rare, but allowed) leaves the tail to go again.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    pending = rest;
  }
}

/** Appends through one file handle; fsyncs before 'finish' so a finished stream means durable bytes. */
class FileAppender extends Writable {
  constructor(private readonly handle: FileHandle) {
    super({ highWaterMark: WRITE_BUFFER });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    writeAll(this.handle, [chunk]).then(() => done(), done);
  }
  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    writeAll(this.handle, chunks.map((c) => c.chunk)).then(() => done(), done);
  }
  override _final(done: (err?: Error | null) => void): void {
    this.handle.sync().then(() => done(), done);
  }
  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.handle.close().then(() => done(err), (closeErr: Error) => done(err ?? closeErr));
  }
}

export function createFilesystemDriver(root: string): StorageDriver {
  const resolve = (p: string): string => {
    const segments = p.split('/').slice(1);
    if (!p.startsWith('/') || segments.length === 0 || !segments.every((s) => SEGMENT_RE.test(s) && s !== '..')) {
      throw new Error(`invalid storage path ${JSON.stringify(p)}`);
    }
    return path.join(root, ...segments);
  };

  const openExisting = async (p: string, flags: 'r' | 'r+'): Promise<FileHandle> => {
    try {
      return await open(resolve(p), flags);
    } catch (err) {
      throw isMissing(err) ? new PathNotFoundError(p) : err;
    }
  };

  return {
    async stat(p) {
      try {
        const st = await stat(resolve(p));
        return st.isFile() ? { size: st.size } : null;
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },

    async reader(p, range) {
      const handle = await openExisting(p, 'r');
      return handle.createReadStream({ highWaterMark: READ_CHUNK, ...(range ?? {}) }) as unknown as Readable;
    },

    async openPositional(p) {
      const handle = await openExisting(p, 'r');
      return {
        read: async (into, length, position) => (await handle.read(into, 0, length, position)).bytesRead,
        close: () => handle.close(),
      };
    },

    async appender(p) {
      const file = resolve(p);
      await mkdirDurable(path.dirname(file));
      return new FileAppender(await open(file, 'a'));
    },

    async truncate(p, size) {
      const handle = await openExisting(p, 'r+');
      try {
        await handle.truncate(size);
        await handle.sync();
      } finally {
        await handle.close();
      }
    },

    async move(from, to) {
      const source = resolve(from);
      const target = resolve(to);
      await mkdirDurable(path.dirname(target));
      try {
        await rename(source, target);
      } catch (err) {
        throw isMissing(err) ? new PathNotFoundError(from) : err;
      }
      // The source folder is not synced: should its entry come back after a power cut, it is
      // only a stray copy of bytes that are already safe at the target.
      await fsyncDir(path.dirname(target));
    },

    async delete(p) {
      await rm(resolve(p), { recursive: true, force: true });
    },
  };
}
