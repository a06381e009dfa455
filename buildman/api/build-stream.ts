// The live log WebSocket: /api/v1/repository/{ns}/{repo}/build/{uuid}/logs/stream?since=N.
// Each message is one line `{seq, type, message, data, datetime}`, then `{phase, final: true}`,
// then the socket closes (1000). Same credentials as the API, read permission on the repository,
// checked before the upgrade so a refusal is an ordinary HTTP error.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket, { type WebSocket } from '@fastify/websocket';
import { z } from 'zod';
import { parseInput } from '../../src/api/validate.js';
import { authorize, type ApiDeps } from '../../src/api/context.js';
import { documented } from '../../src/api/route-docs.js';
import { missingRepository } from '../../src/auth/policy.js';
import { notFound } from '../../src/errors.js';
import { findRepository } from '../../src/repos/repositories.js';
import { findBuild } from '../build-model.js';
import { followLog } from '../log-follow.js';
import type { LogStore } from '../log-store.js';
import type { LogPubSub } from '../log-pubsub.js';

/** `n0`…`nK`: the repository name's slash-separated components, one route per depth. */
type StreamParams = { namespace: string; uuid: string } & Record<string, string>;

/** Nested repository names (`acme/team/app`) up to this many components get a stream route. */
const MAX_NAME_COMPONENTS = 6;

const repositoryName = (p: StreamParams): string => {
  const parts: string[] = [];
  for (let i = 0; p[`n${i}`] !== undefined; i++) parts.push(p[`n${i}`]!);
  return parts.join('/');
};

const query = z.object({ since: z.coerce.number().int().min(0).default(0) });

export async function buildStreamRoutes(app: FastifyInstance, deps: ApiDeps, logs: LogStore, pubsub: LogPubSub): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 64 * 1024 } });
    const authorizeStream = async (req: FastifyRequest) => {
      const p = req.params as StreamParams;
      const name = repositoryName(p);
      const repo = await findRepository(deps.db, p.namespace, name);
      if (!repo) throw missingRepository(req.identity, `${p.namespace}/${name}`);
      await authorize(deps, req, { on: 'repo', repo, role: 'read' });
      const build = await findBuild(deps.db, p.uuid);
      if (!build || build.repositoryId !== repo.id) throw notFound(`no build ${p.uuid} in ${p.namespace}/${name}`);
      parseInput(query, req.query);
    };
    // A path parameter cannot hold a slash, and the REST endpoints' wildcard route owns
    // /repository/*: so one parametric route per name depth, which the router prefers to the wildcard.
    const stream = (socket: WebSocket, req: FastifyRequest) => {
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
    };
    for (let depth = 1; depth <= MAX_NAME_COMPONENTS; depth++) {
      const name = Array.from({ length: depth }, (_, i) => `:n${i}`).join('/');
      scope.get(`/repository/:namespace/${name}/build/:uuid/logs/stream`, {
        websocket: true, preHandler: authorizeStream, ...documented("Follow a build's log live (WebSocket)", ['repo:read']),
      }, stream);
    }
  });
}
