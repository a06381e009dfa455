import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  changeEmail, changeTagExpiration, createOrganization, deleteOrganization, EMAIL_RE, requireOrganization, type Account,
} from '../auth/accounts.js';
import { isNamespaceAdmin, type Identity } from '../auth/policy.js';
import { listTeams, teamIdsOf } from '../auth/teams.js';
import { tagExpirationChoices } from '../config/durations.js';
import type { Queryable } from '../db/index.js';
import { avatarOf } from './avatar.js';
import { audit, authorize, type ApiDeps, type ApiModule } from './context.js';
import { documented } from './route-docs.js';
import { teamSummaryView } from './teams.js';
import { callerAccount } from './users.js';
import { parseInput } from './validate.js';
import { namespaceQuotaReport, namespaceQuotas } from '../repos/namespace-size.js';

/** Quay's organization view for one of its members; email and settings only for admins. */
async function orgView(db: Queryable, identity: Identity, org: Account) {
  const isAdmin = await isNamespaceAdmin(db, identity, org);
  const teams = await listTeams(db, org);
  const mine = identity.kind === 'anonymous' ? new Set<number>() : await teamIdsOf(db, org, identity.account.id);
  return {
    name: org.name,
    email: isAdmin ? org.email ?? '' : '',
    avatar: avatarOf(org.name, 'org', org.email),
    is_admin: isAdmin,
    is_member: true,
    teams: Object.fromEntries(teams.map((t) => [t.name, teamSummaryView(org, t, isAdmin || mine.has(t.id))])),
    ordered_teams: teams.map((t) => t.name),
    ...(isAdmin ? { tag_expiration_s: org.tag_expiration_s } : {}),
  };
}

/** FEATURE_QUOTA_MANAGEMENT: the organization's quotas and its usage against them (Quay's fields). */
async function quotaFields(deps: ApiDeps, org: Account) {
  if (!deps.config.FEATURE_QUOTA_MANAGEMENT) return {};
  return {
    quotas: await namespaceQuotas(deps.db, org.id),
    quota_report: await namespaceQuotaReport(deps.db, org.id, deps.config.DEFAULT_SYSTEM_REJECT_QUOTA_BYTES),
  };
}

const email = z.string().regex(EMAIL_RE, 'must be an email address');

const NewOrg = z.strictObject({
  name: z.string(),
  email: email.optional(),
});

const OrgUpdate = z.strictObject({
  email: email.optional(),
  tag_expiration_s: z.number().int().min(0).optional(),
});

function orgParam(req: FastifyRequest): string {
  return (req.params as { orgname: string }).orgname;
}

export const organizationRoutes: ApiModule = (app, deps) => {
  app.post('/organization/', documented('Create an organization owned by the caller', ['user:admin']), async (req, reply) => {
    await authorize(deps, req, { on: 'self', level: 'admin' });
    const input = parseInput(NewOrg, req.body);
    const owner = callerAccount(req);
    await deps.db.transaction(async (tx) => {
      const org = await createOrganization(tx, { name: input.name, email: input.email, owner });
      await audit(tx, req, { kind: 'org_create', namespace: { id: org.id, name: org.name }, metadata: { email: input.email ?? null, namespace: org.name } });
    });
    // Quay answers with the bare string.
    return reply.code(201).type('application/json; charset=utf-8').send(JSON.stringify('Created'));
  });

  app.get('/organization/:orgname', documented('Get an organization (members only)'), async (req) => {
    const org = await requireOrganization(deps.db, orgParam(req));
    await authorize(deps, req, { on: 'namespace', namespace: org, level: 'member' });
    return { ...(await orgView(deps.db, req.identity, org)), ...(await quotaFields(deps, org)) };
  });

  app.put('/organization/:orgname', documented("Change an organization's email or time machine setting", ['org:admin']), async (req) => {
    const org = await requireOrganization(deps.db, orgParam(req));
    await authorize(deps, req, { on: 'namespace', namespace: org, level: 'admin' });
    const input = parseInput(OrgUpdate, req.body);
    const namespace = { id: org.id, name: org.name };
    await deps.db.transaction(async (tx) => {
      if (input.email !== undefined && input.email !== org.email) {
        await changeEmail(tx, org, input.email);
        await audit(tx, req, { kind: 'org_change_email', namespace, metadata: { email: input.email, old_email: org.email, namespace: org.name } });
      }
      if (input.tag_expiration_s !== undefined) {
        await changeTagExpiration(tx, org, input.tag_expiration_s, tagExpirationChoices(deps.config.TAG_EXPIRATION_OPTIONS));
        await audit(tx, req, { kind: 'org_change_tag_expiration', namespace, metadata: { tag_expiration: input.tag_expiration_s, namespace: org.name } });
      }
    });
    const changed = await requireOrganization(deps.db, org.name);
    return { ...(await orgView(deps.db, req.identity, changed)), ...(await quotaFields(deps, changed)) };
  });

  app.delete('/organization/:orgname', documented('Delete an organization with its teams, robots and repositories', ['org:admin']), async (req, reply) => {
    const org = await requireOrganization(deps.db, orgParam(req));
    await authorize(deps, req, { on: 'namespace', namespace: org, level: 'admin' });
    await deps.db.transaction(async (tx) => {
      await deleteOrganization(tx, org);
      await audit(tx, req, { kind: 'org_delete', namespace: { id: org.id, name: org.name }, metadata: { namespace: org.name } });
    });
    return reply.code(204).send();
  });
};
