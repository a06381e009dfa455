// The live log WebSocket: /api/v1/repository/{ns}/{repo}/build/{uuid}/logs/stream?since=N.
// Each message is one line `{seq, type, message, data, datetime}`, then `{phase, final: true}`,
// then the socket closes (1000). Same credentials as the API, read permission on the repository,
// checked before the upgrade so a refusal is an ordinary HTTP error.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import { z } from 'zod';
import { parseInput } from '../../src/api/validate.js';
import { authorize, type ApiDeps } from '../../src/api/context.js';
import { missingRepository } from '../../src/auth/policy.js';
import { notFound } from '../../src/errors.js';
import { findRepository } from '../../src/repos/repositories.js';
import { findBuild } from '../build-model.js';
import { followLog } from '../log-follow.js';
import type { LogStore } from '../log-store.js';
import type { LogPubSub } from '../log-pubsub.js';

interface StreamParams {
  namespace: string;
  name: string;
  uuid: string;
}

const query = z.object({ since: z.coerce.number().int().min(0).default(0) });

export async function buildStreamRoutes(app: FastifyInstance, deps: ApiDeps, logs: LogStore, pubsub: LogPubSub): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 64 * 1024 } });
    const authorizeStream = async (req: FastifyRequest) => {
      const p = req.params as StreamParams;
      const repo = await findRepository(deps.db, p.namespace, p.name);
      if (!repo) throw missingRepository(req.identity, `${p.namespace}/${p.name}`);
      await authorize(deps, req, { on: 'repo', repo, role: 'read' });
      const build = await findBuild(deps.db, p.uuid);
      if (!build || build.repositoryId !== repo.id) throw notFound(`no build ${p.uuid} in ${p.namespace}/${p.name}`);
      parseInput(query, req.query);
    };
    // Repository names without a slash only: a path parameter cannot hold one (the REST endpoints can).
    scope.get('/repository/:namespace/:name/build/:uuid/logs/stream', { websocket: true, preHandler: authorizeStream }, (socket, req) => {
      const { uuid } = req.params as StreamParams;
      const { since } = parseInput(query, req.query);
      const ac = new AbortController();
      socket.on('close', () => ac.abort());
      socket.on('error', () => ac.abort());
      void (async () => {
        try {
          for await (const item of followLog(deps.db, logs, pubsub, uuid, since, { signal: ac.signal, bufferSize: 1000 })) {
            if (socket.readyState !== socket.OPEN) return;
            if (item.kind === 'line') {
              const l = item.line;
              socket.send(JSON.stringify({ seq: l.seq, type: l.type, message: l.message, data: l.data ?? {}, datetime: new Date(l.datetime).toISOString() }));
            } else {
              socket.send(JSON.stringify({ phase: item.phase, final: true }));
              socket.close(1000, 'build ended');
              return;
            }
          }
        } catch (err) {
          req.log.warn({ err, build: uuid }, 'streaming a build log failed');
          if (socket.readyState === socket.OPEN) socket.close(1011, 'internal error');
        }
      })();
    });
  });
}
