import type { FastifyError, FastifyReply } from 'fastify';
import { DomainError, type DomainErrorKind } from '../errors.js';

// The one error vocabulary of /api/v1, in the shape Quay's API answers with.
const TABLE: Record<DomainErrorKind, { status: number; type: string }> = {
  invalid: { status: 400, type: 'invalid_request' },
  unauthenticated: { status: 401, type: 'invalid_token' },
  forbidden: { status: 403, type: 'insufficient_scope' },
  not_found: { status: 404, type: 'not_found' },
  conflict: { status: 409, type: 'conflict' },
  too_many: { status: 429, type: 'too_many_requests' },
};

export function sendApiError(reply: FastifyReply, kind: DomainErrorKind, message: string, field?: string): FastifyReply {
  const { status, type } = TABLE[kind];
  return reply.code(status).send({
    status, error_type: type, title: type, error_message: message, detail: message, ...(field ? { field } : {}),
  });
}

/** Maps anything a handler threw to the wire; unknown errors are logged and answered 500. */
export function apiErrorHandler(err: FastifyError | Error, reply: FastifyReply, log: { error(o: object, m: string): void }): FastifyReply {
  if (err instanceof DomainError) return sendApiError(reply, err.kind, err.message, err.field);
  const fe = err as FastifyError;
  if (fe.validation || fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)) {
    return reply.code(fe.statusCode ?? 400).send({
      status: fe.statusCode ?? 400, error_type: 'invalid_request', title: 'invalid_request', error_message: fe.message, detail: fe.message,
    });
  }
  log.error({ err }, 'api request failed');
  return reply.code(500).send({ status: 500, error_type: 'internal_error', title: 'internal_error', error_message: 'internal server error', detail: 'internal server error' });
}
