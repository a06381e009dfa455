import { randomUUID, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { regErr, RegistryError } from '../errors.js';
import { createHasher, digestOf, formatDigest, hashingTap, hashStream, requireDigest, type Digest } from '../digest.js';
import type { BlobStore, ByteRange } from './blob-store.js';
import { PathNotFoundError, type StorageDriver } from './driver.js';
import { pathFor } from './paths.js';

/** A sha256 fed with an upload's bytes as they arrived, valid while the upload holds `size` bytes. */
interface RunningHash {
  size: number;
  hash: Hash;
}

// Abandoned uploads never say goodbye; past this many, the oldest running hashes are forgotten
// (their uploads are simply hashed from storage at commit).
const MAX_RUNNING = 10_000;

const uploadData = (uploadId: string) => pathFor({ kind: 'uploadData', uploadId });
const uploadDir = (uploadId: string) => pathFor({ kind: 'uploadDir', uploadId });
const blobData = (digest: Digest) => pathFor({ kind: 'blobData', digest });

/** Whether a failed pipeline failed on the storage side (a syscall) rather than on the request body. */
function isStorageFailure(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException)?.syscall === 'string';
}

async function blobUnknownIfMissing<T>(digest: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    if (err instanceof PathNotFoundError) throw regErr('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    throw err;
  }
}

export function createBlobStore(driver: StorageDriver): BlobStore {
  // Only this process's view: after a restart, or when another replica took a chunk, the size
  // no longer matches and the upload is hashed from storage at commit instead.
  const running = new Map<string, RunningHash>();
  const remember = (uploadId: string, state: RunningHash) => {
    running.delete(uploadId);
    running.set(uploadId, state);
    if (running.size > MAX_RUNNING) running.delete(running.keys().next().value!);
  };

  /** Makes the upload's data exactly `size` bytes long, creating it when empty. */
  async function alignUpload(uploadId: string, size: number): Promise<string> {
    const data = uploadData(uploadId);
    const stored = (await driver.stat(data))?.size;
    if (stored === undefined && size === 0) {
      await pipeline([], await driver.appender(data));
    } else if (stored === undefined || stored < size) {
      throw regErr('BLOB_UPLOAD_INVALID', 'the upload lost bytes it had acknowledged; start it again', { recorded: size, stored: stored ?? 0 });
    } else if (stored > size) {
      // The tail of a chunk that was being written when the server stopped: never acknowledged.
      await driver.truncate(data, size);
    }
    return data;
  }

  async function rollBack(uploadId: string, offset: number, hash: Hash | null): Promise<void> {
    try {
      await driver.truncate(uploadData(uploadId), offset);
    } catch (err) {
      if (!(err instanceof PathNotFoundError)) throw err;
    }
    if (hash) remember(uploadId, { size: offset, hash });
  }

  async function append(uploadId: string, body: Readable, offset: number, expectedLength?: number): Promise<number> {
    const data = await alignUpload(uploadId, offset);
    const prior = running.get(uploadId);
    running.delete(uploadId);
    const hash = prior?.size === offset ? prior.hash : offset === 0 ? createHasher('sha256') : null;
    // Copying a hash state is cheap; it is what lets a failed chunk leave the hash untouched.
    const before = hash?.copy() ?? null;
    const tap = hashingTap(hash);
    try {
      await pipeline(body, tap, await driver.appender(data));
      if (expectedLength !== undefined && tap.bytes !== expectedLength) {
        throw regErr('SIZE_INVALID', `received ${tap.bytes} bytes where ${expectedLength} were announced`, { expected: expectedLength, received: tap.bytes });
      }
    } catch (err) {
      await rollBack(uploadId, offset, before);
      if (err instanceof RegistryError || isStorageFailure(err)) throw err;
      throw expectedLength !== undefined
        ? regErr('SIZE_INVALID', `the request body ended after ${tap.bytes} of ${expectedLength} bytes`)
        : regErr('BLOB_UPLOAD_INVALID', `the request body failed after ${tap.bytes} bytes: ${(err as Error).message}`);
    }
    if (hash) remember(uploadId, { size: offset + tap.bytes, hash });
    return offset + tap.bytes;
  }

  async function uploadDigest(uploadId: string, data: string, size: number, digest: Digest): Promise<string> {
    const state = running.get(uploadId);
    running.delete(uploadId);
    if (state && state.size === size && digest.algorithm === 'sha256') return `sha256:${state.hash.digest('hex')}`;
    return (await hashStream(await driver.reader(data), digest.algorithm)).digest;
  }

  /** Puts verified bytes at the content address, unless they are there already. */
  async function place(from: string, digest: Digest): Promise<void> {
    const target = blobData(digest);
    // Nothing reaches a content address unverified, so bytes already there are these bytes.
    if ((await driver.stat(target)) !== null) return;
    await driver.move(from, target);
  }

  async function commit(uploadId: string, digestText: string, size: number): Promise<void> {
    const digest = requireDigest(digestText);
    try {
      const data = await alignUpload(uploadId, size);
      const actual = await uploadDigest(uploadId, data, size, digest);
      if (actual !== formatDigest(digest)) {
        throw regErr('DIGEST_INVALID', 'the uploaded content does not match the digest', { expected: digestText, actual, size });
      }
      await place(data, digest);
    } finally {
      running.delete(uploadId);
      await driver.delete(uploadDir(uploadId));
    }
  }

  return {
    appendUpload: append,
    commitUpload: commit,

    async statBlob(digestText) {
      return (await driver.stat(blobData(requireDigest(digestText))))?.size ?? null;
    },

    openBlob(digestText, range?: ByteRange) {
      return blobUnknownIfMissing(digestText, () => driver.reader(blobData(requireDigest(digestText)), range));
    },

    async openBlobFile(digestText) {
      if (!driver.openPositional) return null;
      const openPositional = driver.openPositional.bind(driver);
      return blobUnknownIfMissing(digestText, () => openPositional(blobData(requireDigest(digestText))));
    },

    async putBlob(digestText, bytes) {
      const digest = requireDigest(digestText);
      if (digestOf(bytes, digest.algorithm) !== formatDigest(digest)) {
        throw regErr('DIGEST_INVALID', 'the content does not match the digest', { expected: digestText });
      }
      if ((await driver.stat(blobData(digest))) !== null) return;
      const scratch = randomUUID();
      try {
        await pipeline([bytes], await driver.appender(uploadData(scratch)));
        await place(uploadData(scratch), digest);
      } finally {
        await driver.delete(uploadDir(scratch));
      }
    },

    async deleteUpload(uploadId) {
      running.delete(uploadId);
      await driver.delete(uploadDir(uploadId));
    },

    async deleteBlob(digestText) {
      await driver.delete(pathFor({ kind: 'blobDir', digest: requireDigest(digestText) }));
    },
  };
}
