// Robot accounts of the signed-in user (/user/robots) and of an organization
// (/organization/{org}/robots): one set of handlers, mounted once per kind of namespace.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findAccount, requireOrganization, robotToken, type Account } from '../auth/accounts.js';
import { isNamespaceAdmin } from '../auth/policy.js';
import {
  createNamespaceRobot, deleteRobot, listRobots, regenerateRobotToken, requireRobot, robotPermissions, type Robot, type RobotListing,
} from '../auth/robots.js';
import type { Scope } from '../auth/scopes.js';
import { invalid } from '../errors.js';
import { avatarOf } from './avatar.js';
import { audit, authorize, type ApiDeps, type ApiModule } from './context.js';
import { formatDate } from './logs-view.js';
import { documented } from './route-docs.js';
import { callerAccount } from './users.js';
import { parseInput } from './validate.js';

/**
 * The robot named by a request's `pull_robot` (a build's or a trigger's), once the policy lets the
 * caller lend it (use-robot); 400 naming the field when there is no such robot.
 */
export async function lendableRobot(deps: ApiDeps, req: FastifyRequest, name: string): Promise<Account> {
  const robot = await findAccount(deps.db, name);
  if (!robot || robot.kind !== 'robot') throw invalid('pull_robot', `no robot ${name}`);
  await authorize(deps, req, { on: 'use-robot', robot, field: 'pull_robot' });
  return robot;
}

/** Where robots live: the path prefix and how the namespace is found (and reached) from a request. */
interface RobotHome {
  prefix: string;
  /** Whose robots, for the discovery document. */
  of: string;
  /** The scope a token needs to administer them. */
  scope: Scope;
  namespace(deps: ApiDeps, req: FastifyRequest): Promise<Account>;
}

const HOMES: RobotHome[] = [
  {
    prefix: '/user/robots',
    of: "the signed-in user's",
    scope: 'user:admin',
    async namespace(deps, req) {
      await authorize(deps, req, { on: 'self', level: 'admin' });
      return callerAccount(req);
    },
  },
  {
    prefix: '/organization/:orgname/robots',
    of: "an organization's",
    scope: 'org:admin',
    namespace: (deps, req) => requireOrganization(deps.db, (req.params as { orgname: string }).orgname),
  },
];

// Dates as Quay writes them (RFC 2822), like the usage logs.
const date = (ms: number | null) => (ms === null ? null : formatDate(ms));

function robotView(robot: Robot, token?: string) {
  return {
    name: robot.account.name,
    created: date(robot.account.created_at),
    last_accessed: date(robot.last_accessed),
    description: robot.account.description,
    ...(token !== undefined ? { token } : {}),
    unstructured_metadata: robot.metadata,
  };
}

function listedRobotView(namespace: Account, robot: RobotListing, token?: string) {
  return {
    name: robot.account.name,
    created: date(robot.account.created_at),
    last_accessed: date(robot.last_accessed),
    description: robot.account.description,
    teams: robot.teams.map((name) => ({ name, avatar: avatarOf(`${namespace.name}/${name}`, 'team') })),
    repositories: robot.repositories,
    ...(token !== undefined ? { token } : {}),
  };
}

const RobotInput = z.strictObject({
  description: z.string().max(255).optional(),
  unstructured_metadata: z.record(z.string(), z.unknown()).optional(),
});

function shortParam(req: FastifyRequest): string {
  return (req.params as { robot_shortname: string }).robot_shortname;
}

function mount(app: Parameters<ApiModule>[0], deps: ApiDeps, home: RobotHome): void {
  const one = `${home.prefix}/:robot_shortname`;

  /** The namespace, once the caller is found to reach it at `level`. */
  const reach = async (req: FastifyRequest, level: 'member' | 'admin') => {
    const namespace = await home.namespace(deps, req);
    await authorize(deps, req, { on: 'namespace', namespace, level, scope: home.scope });
    return namespace;
  };

  // Members see the robots; tokens only when asked for (?token=true) and only by admins.
  app.get(home.prefix, documented(`List ${home.of} robots (tokens with ?token=true, for admins)`, [home.scope]), async (req) => {
    const namespace = await reach(req, 'member');
    const wantTokens = (req.query as { token?: string }).token === 'true' && (await isNamespaceAdmin(deps.db, req.identity, namespace));
    const robots = await listRobots(deps.db, namespace);
    return {
      robots: await Promise.all(robots.map(async (r) => listedRobotView(namespace, r, wantTokens ? await robotToken(deps.db, deps.keys, r.account.id) : undefined))),
    };
  });

  app.get(one, documented(`Get one of ${home.of} robots`, [home.scope]), async (req) => {
    const namespace = await reach(req, 'member');
    const robot = await requireRobot(deps.db, namespace, shortParam(req));
    const admin = await isNamespaceAdmin(deps.db, req.identity, namespace);
    return robotView(robot, admin ? await robotToken(deps.db, deps.keys, robot.account.id) : undefined);
  });

  app.put(one, documented(`Create a robot among ${home.of} robots`, [home.scope]), async (req, reply) => {
    const namespace = await reach(req, 'admin');
    const input = parseInput(RobotInput, req.body);
    const short = shortParam(req);
    const { robot, token } = await deps.db.transaction(async (tx) => {
      const created = await createNamespaceRobot(tx, deps.keys, namespace, short, {
        description: input.description, metadata: input.unstructured_metadata, disallowed: deps.config.ROBOTS_DISALLOW,
      });
      await audit(tx, req, {
        kind: 'create_robot', namespace: { id: namespace.id, name: namespace.name },
        metadata: { robot: short, description: input.description ?? null, unstructured_metadata: input.unstructured_metadata ?? null },
      });
      return created;
    });
    return reply.code(201).send(robotView(robot, token));
  });

  app.delete(one, documented(`Delete one of ${home.of} robots`, [home.scope]), async (req, reply) => {
    const namespace = await reach(req, 'admin');
    await deps.db.transaction(async (tx) => {
      const robot = await requireRobot(tx, namespace, shortParam(req));
      await deleteRobot(tx, robot);
      await audit(tx, req, { kind: 'delete_robot', namespace: { id: namespace.id, name: namespace.name }, metadata: { robot: robot.short } });
    });
    return reply.code(204).send();
  });

  app.post(`${one}/regenerate`, documented(`Regenerate the token of one of ${home.of} robots`, [home.scope]), async (req) => {
    const namespace = await reach(req, 'admin');
    const { robot, token } = await deps.db.transaction(async (tx) => {
      const found = await requireRobot(tx, namespace, shortParam(req));
      const fresh = await regenerateRobotToken(tx, deps.keys, found);
      await audit(tx, req, { kind: 'regenerate_robot_token', namespace: { id: namespace.id, name: namespace.name }, metadata: { robot: found.short } });
      return { robot: found, token: fresh };
    });
    return robotView(robot, token);
  });

  app.get(`${one}/permissions`, documented(`List the repository permissions of one of ${home.of} robots`, [home.scope]), async (req) => {
    const namespace = await reach(req, 'admin');
    const robot = await requireRobot(deps.db, namespace, shortParam(req));
    const permissions = await robotPermissions(deps.db, robot);
    return { permissions: permissions.map((p) => ({ repository: { name: p.repository, is_public: p.is_public }, role: p.role })) };
  });
}

export const robotRoutes: ApiModule = (app, deps) => {
  for (const home of HOMES) mount(app, deps, home);
};
