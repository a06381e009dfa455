import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/index.js';

export async function healthRoutes(app: FastifyInstance, opts: { db: Db }): Promise<void> {
  // Ready means the database answers; a load balancer stops sending traffic otherwise.
  app.get('/health', async (_req, reply) => {
    try {
      await opts.db.raw('select 1');
      return { status: 'ok' };
    } catch (err) {
      return reply.code(503).send({ status: 'unavailable', error: (err as Error).message });
    }
  });
}
