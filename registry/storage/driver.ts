import type { Readable, Writable } from 'node:stream';

// A storage driver knows paths and bytes only: never digests, repositories or uploads.
// Roles are small and composed, as in distribution's storage driver. Paths are absolute
// within the driver ('/a/b/c'); storage/paths.ts builds every one of them.

export interface FileInfo {
  size: number;
}

/** What a driver throws when asked to read, truncate or move a file that is not there. */
export class PathNotFoundError extends Error {
  override name = 'PathNotFoundError';
  constructor(readonly path: string) {
    super(`path not found: ${path}`);
  }
}

export interface Statter {
  /** The file's size, or null when there is no file at the path. */
  stat(path: string): Promise<FileInfo | null>;
}

export interface Reader {
  /** Reads bytes [start, end] inclusive (the whole file when no range is given); PathNotFoundError when missing. */
  reader(path: string, range?: { start: number; end: number }): Promise<Readable>;
}

/** A file opened for reads at chosen offsets, into buffers the caller owns. */
export interface PositionalFile {
  /** Reads up to `length` bytes at `position` into the start of `into`; 0 at the end of the file. */
  read(into: Buffer, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface PositionalReader {
  /**
   * Opens the file for positional reads; PathNotFoundError when missing. Optional: it lets a
   * sender recycle its buffers instead of allocating one per chunk, which is what the blob
   * GET path spends its garbage collection on.
   */
  openPositional(path: string): Promise<PositionalFile>;
}

export interface Writer {
  /**
   * A stream appending to the file, creating it (and its folders) when needed. Its 'finish'
   * comes only once the bytes are durable; destroying it leaves whatever was written.
   */
  appender(path: string): Promise<Writable>;
  /** Truncates the file to `size` bytes, durably (used to drop a partly written chunk). */
  truncate(path: string, size: number): Promise<void>;
}

export interface Mover {
  /** Atomically moves a file to its final path (replacing what is there), durable once this resolves. */
  move(from: string, to: string): Promise<void>;
}

export interface Deleter {
  /** Deletes a file or a folder tree; deleting what is not there is not an error. */
  delete(path: string): Promise<void>;
}

export type StorageDriver = Statter & Reader & Writer & Mover & Deleter & Partial<PositionalReader>;
