// The registry's domain errors carry the OCI error code they stand for; the wire table
// (api/error-table.ts) owns statuses and the body format.

export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'MANIFEST_TOO_LARGE';

export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message?: string,
    readonly detail?: unknown,
  ) {
    super(message ?? code);
  }
}

export const regErr = (code: RegistryErrorCode, message?: string, detail?: unknown) => new RegistryError(code, message, detail);
