import type { Readable } from 'node:stream';
import type { PositionalFile } from './driver.js';

// The registry's content store on top of a StorageDriver: blobs by digest, uploads by id.
// Only storage/paths.ts knows where anything lives. The store never touches the database:
// which repository sees a blob, and how far an upload got, are the caller's records.

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface BlobStatter {
  /** The stored size of a blob's bytes, or null when they are not in storage. */
  statBlob(digest: string): Promise<number | null>;
}

export interface BlobReader {
  /** The blob's bytes (or a range of them); BLOB_UNKNOWN when they are not in storage. */
  openBlob(digest: string, range?: ByteRange): Promise<Readable>;
  /** The blob's bytes for positional reads, or null when the driver cannot; BLOB_UNKNOWN when missing. */
  openBlobFile(digest: string): Promise<PositionalFile | null>;
}

export interface BlobIngester {
  /**
   * Appends a request body to an upload whose recorded size is `offset` (bytes past it, left by
   * an interrupted chunk, are dropped first); resolves with the new size. A body that fails or
   * whose length is not `expectedLength` leaves the upload as it was (SIZE_INVALID,
   * BLOB_UPLOAD_INVALID).
   */
  appendUpload(uploadId: string, body: Readable, offset: number, expectedLength?: number): Promise<number>;
  /**
   * Verifies that the upload's first `size` bytes hash to `digest`, then moves them to the blob's
   * content address; the upload's data is gone afterwards either way. DIGEST_INVALID on a mismatch.
   */
  commitUpload(uploadId: string, digest: string, size: number): Promise<void>;
  /** Stores bytes already in memory (manifests, small blobs) under their digest, verified. */
  putBlob(digest: string, bytes: Buffer): Promise<void>;
  deleteUpload(uploadId: string): Promise<void>;
}

export interface BlobDeleter {
  /** Removes a blob's bytes from storage; for garbage collection, never for an API unlink. */
  deleteBlob(digest: string): Promise<void>;
}

export type BlobStore = BlobStatter & BlobReader & BlobIngester & BlobDeleter;
