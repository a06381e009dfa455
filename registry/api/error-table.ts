import type { FastifyReply } from 'fastify';
import { DomainError } from '../../src/errors.js';
import { RegistryError, type RegistryErrorCode } from '../errors.js';

interface WireCode {
  /** The code written on the wire (a few domain codes share a spec code). */
  code: string;
  status: number;
  message: string;
}

// Every OCI error the registry answers with, once (OCI distribution spec, "Error Codes").
const TABLE: Record<RegistryErrorCode, WireCode> = {
  BLOB_UNKNOWN: { code: 'BLOB_UNKNOWN', status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { code: 'BLOB_UPLOAD_INVALID', status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { code: 'BLOB_UPLOAD_UNKNOWN', status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { code: 'DIGEST_INVALID', status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { code: 'MANIFEST_BLOB_UNKNOWN', status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { code: 'MANIFEST_INVALID', status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { code: 'MANIFEST_UNKNOWN', status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { code: 'NAME_INVALID', status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { code: 'NAME_UNKNOWN', status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { code: 'SIZE_INVALID', status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { code: 'UNAUTHORIZED', status: 401, message: 'authentication required' },
  DENIED: { code: 'DENIED', status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { code: 'UNSUPPORTED', status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { code: 'TOOMANYREQUESTS', status: 429, message: 'too many requests' },
  // An out-of-order chunk: the spec asks for 416 and names no code of its own.
  RANGE_INVALID: { code: 'BLOB_UPLOAD_INVALID', status: 416, message: 'chunk does not start where the upload ends' },
  MANIFEST_TOO_LARGE: { code: 'SIZE_INVALID', status: 413, message: 'manifest exceeds the size limit' },
};

const DOMAIN_TO_REGISTRY: Record<DomainError['kind'], RegistryErrorCode> = {
  invalid: 'NAME_INVALID',
  not_found: 'NAME_UNKNOWN',
  conflict: 'DENIED',
  unauthenticated: 'UNAUTHORIZED',
  forbidden: 'DENIED',
  too_many: 'TOOMANYREQUESTS',
};

export function toRegistryError(err: unknown): RegistryError | null {
  if (err instanceof RegistryError) return err;
  if (err instanceof DomainError) return new RegistryError(DOMAIN_TO_REGISTRY[err.kind], err.message);
  return null;
}

export function statusOf(code: RegistryErrorCode): number {
  return TABLE[code].status;
}

/** Writes the spec's error body; extra headers (a challenge, a Range) are set by the caller. */
export function sendRegistryError(reply: FastifyReply, err: RegistryError): FastifyReply {
  const wire = TABLE[err.code];
  const message = err.message && err.message !== err.code ? err.message : wire.message;
  return reply
    .code(wire.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send({ errors: [{ code: wire.code, message, detail: err.detail ?? null }] });
}
