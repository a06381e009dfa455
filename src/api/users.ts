import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { changeEmail, changeTagExpiration, getAccountById, setPassword, type Account } from '../auth/accounts.js';
import { canCreateIn, isNamespaceAdmin, type Identity } from '../auth/policy.js';
import { organizationsOf } from '../auth/teams.js';
import { deleteUser, registerUser } from '../auth/users.js';
import { endSessionsOf } from '../auth/sessions.js';
import { recordLog } from '../audit/usage-log.js';
import { tagExpirationChoices } from '../config/durations.js';
import type { Queryable } from '../db/index.js';
import { DomainError, notFound } from '../errors.js';
import { avatarOf } from './avatar.js';
import { audit, authorize, type ApiDeps, type ApiModule } from './context.js';
import { documented } from './route-docs.js';
import { renewWebSession } from './session.js';
import { parseInput } from './validate.js';

/** The signed-in user's account; only called after `authorize` has refused anonymous callers. */
export function callerAccount(req: FastifyRequest): Account {
  if (req.identity.kind === 'anonymous') throw new DomainError('unauthenticated', 'sign in to do this');
  return req.identity.account;
}

async function organizationsView(db: Queryable, identity: Identity, user: Account) {
  const orgs = await organizationsOf(db, user);
  return Promise.all(orgs.map(async (org) => ({
    name: org.name,
    avatar: avatarOf(org.name, 'org', org.email),
    can_create_repo: await canCreateIn(db, identity, org),
    public: false,
    is_org_admin: await isNamespaceAdmin(db, identity, org),
    preferred_namespace: false,
  })));
}

/** The user view Quay's API returns for the signed-in user. */
export async function userView(db: Queryable, identity: Identity, account: Account) {
  return {
    anonymous: false,
    username: account.name,
    avatar: avatarOf(account.name, 'user', account.email),
    email: account.email,
    verified: true,
    is_me: true,
    can_create_repo: true,
    super_user: account.superuser,
    enabled: account.enabled,
    tag_expiration_s: account.tag_expiration_s,
    logins: [],
    created: new Date(account.created_at).toISOString(),
    organizations: await organizationsView(db, identity, account),
  };
}

const Registration = z.strictObject({
  username: z.string(),
  password: z.string(),
  email: z.string(),
});

const UserUpdate = z.strictObject({
  password: z.string().optional(),
  email: z.string().optional(),
  tag_expiration_s: z.number().int().min(0).optional(),
});

async function freshView(deps: ApiDeps, req: FastifyRequest, id: number) {
  const account = await getAccountById(deps.db, id);
  if (!account) throw notFound('the account no longer exists');
  return userView(deps.db, req.identity, account);
}

export const userRoutes: ApiModule = (app, deps) => {
  app.get('/user/', documented('Get the signed-in user, with the organizations it belongs to', ['user:read']), async (req) => {
    await authorize(deps, req, { on: 'self', level: 'read' });
    return userView(deps.db, req.identity, callerAccount(req));
  });

  // Registration, when the operator allows it (FEATURE_USER_CREATION); hidden otherwise, as in Quay.
  app.post('/user/', documented('Register a new user (when FEATURE_USER_CREATION is on)', null), async (req) => {
    if (!deps.config.FEATURE_USER_CREATION) throw notFound('user registration is turned off on this registry (FEATURE_USER_CREATION)');
    const input = parseInput(Registration, req.body);
    const user = await deps.db.transaction(async (tx) => {
      const created = await registerUser(tx, input);
      await recordLog(tx, {
        kind: 'user_create', performer: { kind: 'user', account: created }, ip: req.ip,
        namespace: { id: created.id, name: created.name }, metadata: { username: created.name, email: created.email },
      });
      return created;
    });
    return userView(deps.db, { kind: 'user', account: user }, user);
  });

  app.put('/user/', documented("Change the signed-in user's password, email or time machine setting", ['user:admin']), async (req, reply) => {
    await authorize(deps, req, { on: 'self', level: 'admin' });
    const me = callerAccount(req);
    const input = parseInput(UserUpdate, req.body);
    const namespace = { id: me.id, name: me.name };
    await deps.db.transaction(async (tx) => {
      if (input.password !== undefined) {
        await setPassword(tx, me.id, input.password);
        await endSessionsOf(tx, me.id);
        await audit(tx, req, { kind: 'account_change_password', namespace });
      }
      if (input.email !== undefined && input.email !== me.email) {
        await changeEmail(tx, me, input.email);
        await audit(tx, req, { kind: 'user_change_email', namespace, metadata: { email: input.email, old_email: me.email } });
      }
      if (input.tag_expiration_s !== undefined) {
        await changeTagExpiration(tx, me, input.tag_expiration_s, tagExpirationChoices(deps.config.TAG_EXPIRATION_OPTIONS));
        await audit(tx, req, { kind: 'user_change_tag_expiration', namespace, metadata: { tag_expiration: input.tag_expiration_s } });
      }
    });
    if (input.password !== undefined) await renewWebSession(deps, req, reply);
    return freshView(deps, req, me.id);
  });

  app.delete('/user/', documented('Delete the signed-in user', ['user:admin']), async (req, reply) => {
    await authorize(deps, req, { on: 'self', level: 'admin' });
    const me = callerAccount(req);
    await deps.db.transaction(async (tx) => {
      await deleteUser(tx, me);
      await audit(tx, req, { kind: 'user_delete', namespace: { id: me.id, name: me.name }, metadata: { username: me.name } });
    });
    return reply.code(204).send();
  });
};
