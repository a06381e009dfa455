import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { regErr } from './errors.js';

// Content digests as the OCI image spec defines them, limited to the algorithms we can verify.

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface Digest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex, 64 characters for sha256 and 128 for sha512. */
  hex: string;
}

// Uppercase hex is refused: the spec's encoded part is lowercase, and a digest is an exact string.
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function parseDigest(text: string): Digest | null {
  if (!DIGEST_RE.test(text)) return null;
  const colon = text.indexOf(':');
  return { algorithm: text.slice(0, colon) as DigestAlgorithm, hex: text.slice(colon + 1) };
}

/** The digest, or DIGEST_INVALID naming what was wrong with it. */
export function requireDigest(text: string | undefined): Digest {
  const digest = text === undefined ? null : parseDigest(text);
  if (!digest) {
    throw regErr('DIGEST_INVALID', 'invalid digest: expected sha256:<64 hex> or sha512:<128 hex>', { digest: text ?? null });
  }
  return digest;
}

export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

export function digestOf(bytes: Buffer, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export function createHasher(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

/**
 * A pass-through stream that feeds every chunk to `hash` (when given) and counts the bytes,
 * so one pass over a body both stores and hashes it.
 */
export function hashingTap(hash: Hash | null, highWaterMark = 1 << 20): Transform & { bytes: number } {
  const tap = new Transform({
    highWaterMark,
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      hash?.update(chunk);
      tap.bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { bytes: number };
  tap.bytes = 0;
  return tap;
}

/** Hashes a whole stream; resolves with its digest and length. */
export async function hashStream(source: Readable, algorithm: DigestAlgorithm): Promise<{ digest: string; size: number }> {
  const hash = createHash(algorithm);
  let size = 0;
  await pipeline(source, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
    }
  });
  return { digest: `${algorithm}:${hash.digest('hex')}`, size };
}
