// Default permissions of an organization (Quay's endpoints/api/prototype.py); org admins only.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireOrganization, type Account } from '../auth/accounts.js';
import { ROLE_VALUES } from '../auth/names.js';
import { createPrototype, deletePrototype, listPrototypes, updatePrototype, type Prototype, type PrototypeAccount } from '../repos/prototypes.js';
import { avatarOf } from './avatar.js';
import { audit, authorize, type ApiDeps, type ApiModule } from './context.js';
import { documented } from './route-docs.js';
import { parseInput } from './validate.js';

const role = z.string().refine((r) => (ROLE_VALUES as readonly string[]).includes(r), { message: 'unknown role: use read, write or admin' });
const delegate = z.object({ name: z.string().min(1), kind: z.enum(['user', 'team']) });
const activatingUser = z.object({ name: z.string().min(1) }).nullable().optional();

const CreateBody = z.object({ role, delegate, activating_user: activatingUser });
const UpdateBody = z.object({ role, delegate: delegate.optional(), activating_user: activatingUser });

function userView(a: PrototypeAccount) {
  return {
    name: a.name,
    kind: 'user',
    is_robot: a.isRobot,
    is_org_member: a.isOrgMember,
    avatar: avatarOf(a.name, a.isRobot ? 'robot' : 'user', a.email),
  };
}

export function prototypeView(p: Prototype) {
  return {
    id: p.uuid,
    role: p.role,
    activating_user: p.activating ? userView(p.activating) : null,
    delegate: p.delegate.kind === 'team'
      ? { name: p.delegate.name, kind: 'team', avatar: avatarOf(p.delegate.name, 'team') }
      : userView(p.delegate),
  };
}

/** What a log entry says about a prototype. */
function logged(p: Prototype) {
  return {
    prototypeid: p.uuid,
    role: p.role,
    delegate: { name: p.delegate.name, kind: p.delegate.kind },
    activating_user: p.activating ? { name: p.activating.name } : null,
  };
}

async function adminOrg(deps: ApiDeps, req: FastifyRequest): Promise<Account> {
  const org = await requireOrganization(deps.db, (req.params as { orgname: string }).orgname);
  await authorize(deps, req, { on: 'namespace', namespace: org, level: 'admin' });
  return org;
}

export const prototypeRoutes: ApiModule = (app, deps) => {
  app.get('/organization/:orgname/prototypes', documented('List the default permissions of an organization', ['org:admin']), async (req) => {
    const org = await adminOrg(deps, req);
    return { prototypes: (await listPrototypes(deps.db, org)).map(prototypeView) };
  });

  app.post('/organization/:orgname/prototypes', documented('Add a default permission to an organization', ['org:admin']), async (req) => {
    const org = await adminOrg(deps, req);
    const body = parseInput(CreateBody, req.body);
    return deps.db.transaction(async (tx) => {
      const proto = await createPrototype(tx, org, body);
      await audit(tx, req, { kind: 'create_prototype_permission', namespace: org, metadata: logged(proto) });
      return prototypeView(proto);
    });
  });

  app.put('/organization/:orgname/prototypes/:prototypeid', documented('Change a default permission', ['org:admin']), async (req) => {
    const org = await adminOrg(deps, req);
    const body = parseInput(UpdateBody, req.body);
    return deps.db.transaction(async (tx) => {
      const { before, after } = await updatePrototype(tx, org, (req.params as { prototypeid: string }).prototypeid, body);
      await audit(tx, req, {
        kind: 'modify_prototype_permission', namespace: org,
        metadata: { ...logged(after), original_role: before.role, original_delegate: logged(before).delegate, original_activating_user: logged(before).activating_user },
      });
      return prototypeView(after);
    });
  });

  app.delete('/organization/:orgname/prototypes/:prototypeid', documented('Delete a default permission', ['org:admin']), async (req, reply) => {
    const org = await adminOrg(deps, req);
    await deps.db.transaction(async (tx) => {
      const proto = await deletePrototype(tx, org, (req.params as { prototypeid: string }).prototypeid);
      await audit(tx, req, { kind: 'delete_prototype_permission', namespace: org, metadata: logged(proto) });
    });
    return reply.code(204).send();
  });
};
