// POST /webhooks/push/trigger/{uuid}: the one door pushes come in by. The scope keeps every body
// as raw bytes (signatures are over the bytes, and custom git must be refused on a wrong content
// type, not parsed anyway), and answers in /api/v1's error shape.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { apiErrorHandler } from '../../src/api/error-table.js';
import { DomainError } from '../../src/errors.js';
import { receivePush, type ReceiveDeps } from '../receive-push.js';

/** GitHub caps payloads at 25 MB. */
const BODY_LIMIT = 25 * 1024 * 1024;

export function webhookRoutes(deps: ReceiveDeps & { log: Logger }): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
    app.setErrorHandler((err, req, reply) => {
      // Custom git hooks send Basic credentials only when challenged by some clients (curl does not need it).
      if (err instanceof DomainError && err.kind === 'unauthenticated') reply.header('WWW-Authenticate', `Basic realm="slipway trigger", charset="UTF-8"`);
      return apiErrorHandler(err as Error, reply, req.log);
    });
    app.post<{ Params: { uuid: string } }>('/webhooks/push/trigger/:uuid', { bodyLimit: BODY_LIMIT }, async (req) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await receivePush(deps, req.params.uuid, { headers: req.headers, body });
      req.log.info({ trigger: req.params.uuid, ...answer }, 'trigger webhook');
      return answer;
    });
  };
}

