// /api/v1/organization/{org}/applications…: an organization's OAuth applications, and tokens
// minted directly for the caller through one of them (newer Quay's application tokens).
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireOrganization, type Account } from '../auth/accounts.js';
import {
  clientSecret, createApplication, deleteApplication, findApplication, listApplications, resetClientSecret, updateApplication,
  type OAuthApplication,
} from '../auth/oauth-apps.js';
import { DEFAULT_TOKEN_LIFETIME_S, issueAccessToken, listApplicationTokens, revokeApplicationToken, type AccessTokenRecord } from '../auth/oauth-tokens.js';
import type { ApiNeed } from '../auth/policy.js';
import { parseScopes } from '../auth/scopes.js';
import type { Keys } from '../auth/secret-key.js';
import type { Queryable } from '../db/index.js';
import { invalid, notFound } from '../errors.js';
import { audit, authorize, type ApiDeps, type ApiModule } from './context.js';
import { documented } from './route-docs.js';
import { callerAccount } from './users.js';
import { parseInput } from './validate.js';

const uri = z.string().max(2048);
const AppFields = {
  name: z.string().min(1).max(255),
  description: z.string().max(4096).optional(),
  avatar_email: z.string().max(255).nullable().optional(),
};
const NewApp = z.strictObject({ ...AppFields, redirect_uri: uri.optional(), application_uri: uri.optional() });
// As Quay's PUT: the whole application, with both URIs (empty strings allowed).
const UpdateApp = z.strictObject({ ...AppFields, redirect_uri: uri, application_uri: uri });
const NewToken = z.strictObject({
  name: z.string().trim().min(1).max(255),
  scope: z.string(),
  expiration: z.number().int().positive().optional(),
});

/** The application as its organization's admins see it, secret included (every route here is admin-only). */
async function appView(db: Queryable, keys: Keys, app: OAuthApplication) {
  return {
    name: app.name,
    description: app.description,
    application_uri: app.application_uri,
    client_id: app.client_id,
    client_secret: await clientSecret(db, keys, app),
    redirect_uri: app.redirect_uri,
    avatar_email: app.avatar_email,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function tokenView(t: AccessTokenRecord, secret?: string) {
  return {
    uuid: t.uuid, name: t.display_name, scope: t.scope, expires_at: iso(t.expires_at), created: iso(t.created_at),
    created_by: t.account_name, last_accessed: iso(t.last_accessed), ...(secret === undefined ? {} : { token: secret }),
  };
}

const params = (req: FastifyRequest) => req.params as { orgname: string; client_id?: string; token_uuid?: string };
const adminOf = (org: Account): ApiNeed => ({ on: 'namespace', namespace: org, level: 'admin' });
const ns = (org: Account) => ({ id: org.id, name: org.name });

/** The organization, after the policy lets the caller administer its applications (its admins, or a superuser). */
async function administeredOrg(deps: ApiDeps, req: FastifyRequest): Promise<Account> {
  const org = await requireOrganization(deps.db, params(req).orgname);
  await authorize(deps, req, { on: 'any', needs: [adminOf(org), { on: 'superuser' }] });
  return org;
}

async function requireApp(db: Queryable, org: Account, clientId: string | undefined): Promise<OAuthApplication> {
  const app = clientId ? await findApplication(db, org.id, clientId) : null;
  if (!app) throw notFound(`organization ${org.name} has no application with client id ${clientId}`);
  return app;
}

export const oauthAppRoutes: ApiModule = (app, deps) => {
  const { db, keys } = deps;
  const base = '/organization/:orgname/applications';

  app.get(base, documented('List the OAuth applications of an organization', ['org:admin']), async (req) => {
    const org = await administeredOrg(deps, req);
    const apps = await listApplications(db, org.id);
    return { applications: await Promise.all(apps.map((a) => appView(db, keys, a))) };
  });

  app.post(base, documented('Create an OAuth application for an organization', ['org:admin']), async (req) => {
    const org = await administeredOrg(deps, req);
    const input = parseInput(NewApp, req.body);
    const created = await db.transaction(async (tx) => {
      const a = await createApplication(tx, keys, org, input);
      await audit(tx, req, { kind: 'create_application', namespace: ns(org), metadata: { ...input, application_name: a.name, client_id: a.client_id } });
      return a;
    });
    return appView(db, keys, created);
  });

  app.get(`${base}/:client_id`, documented('Get an OAuth application', ['org:admin']), async (req) => {
    const org = await administeredOrg(deps, req);
    return appView(db, keys, await requireApp(db, org, params(req).client_id));
  });

  app.put(`${base}/:client_id`, documented('Update an OAuth application', ['org:admin']), async (req) => {
    const org = await administeredOrg(deps, req);
    const input = parseInput(UpdateApp, req.body);
    const updated = await db.transaction(async (tx) => {
      const a = await updateApplication(tx, await requireApp(tx, org, params(req).client_id), input);
      await audit(tx, req, { kind: 'update_application', namespace: ns(org), metadata: { ...input, application_name: a.name, client_id: a.client_id } });
      return a;
    });
    return appView(db, keys, updated);
  });

  app.delete(`${base}/:client_id`, documented('Delete an OAuth application and revoke its tokens', ['org:admin']), async (req, reply) => {
    const org = await administeredOrg(deps, req);
    await db.transaction(async (tx) => {
      const a = await requireApp(tx, org, params(req).client_id);
      await deleteApplication(tx, a);
      await audit(tx, req, { kind: 'delete_application', namespace: ns(org), metadata: { application_name: a.name, client_id: a.client_id } });
    });
    return reply.code(204).send();
  });

  app.post(`${base}/:client_id/resetclientsecret`, documented("Replace an OAuth application's client secret", ['org:admin']), async (req) => {
    const org = await administeredOrg(deps, req);
    const a = await db.transaction(async (tx) => {
      const found = await requireApp(tx, org, params(req).client_id);
      await resetClientSecret(tx, keys, found);
      await audit(tx, req, { kind: 'reset_application_client_secret', namespace: ns(org), metadata: { application_name: found.name, client_id: found.client_id } });
      return found;
    });
    return appView(db, keys, a);
  });

  app.get(`${base}/:client_id/tokens`, documented("List an application's access tokens (without their secrets)", ['org:admin']), async (req) => {
    const org = await requireOrganization(db, params(req).orgname);
    await authorize(deps, req, adminOf(org));
    const a = await requireApp(db, org, params(req).client_id);
    return { tokens: (await listApplicationTokens(db, a.id)).map((t) => tokenView(t)) };
  });

  app.post(`${base}/:client_id/tokens`, documented('Mint an access token for the caller through the application', ['org:admin']), async (req) => {
    const org = await requireOrganization(db, params(req).orgname);
    await authorize(deps, req, adminOf(org));
    const input = parseInput(NewToken, req.body);
    const { scopes, unknown } = parseScopes(input.scope);
    if (unknown.length) throw invalid('scope', `unknown scope(s) ${unknown.join(', ')}`);
    if (!scopes.length) throw invalid('scope', 'name at least one scope');
    await authorize(deps, req, { on: 'mint-token', namespace: org, scopes });
    const account = callerAccount(req);
    const issued = await db.transaction(async (tx) => {
      const a = await requireApp(tx, org, params(req).client_id);
      const result = await issueAccessToken(tx, {
        applicationId: a.id, account, scopes, displayName: input.name,
        lifetimeS: Math.min(input.expiration ?? DEFAULT_TOKEN_LIFETIME_S, DEFAULT_TOKEN_LIFETIME_S),
      });
      await audit(tx, req, {
        kind: 'create_oauth_api_token', namespace: ns(org),
        metadata: { oauth_token_uuid: result.record.uuid, scope: result.record.scope, token_display_name: input.name, application_name: a.name, client_id: a.client_id },
      });
      return result;
    });
    return tokenView(issued.record, issued.token);
  });

  app.delete(`${base}/:client_id/tokens/:token_uuid`, documented('Revoke one of the application’s tokens', ['org:admin']), async (req, reply) => {
    const org = await requireOrganization(db, params(req).orgname);
    await authorize(deps, req, adminOf(org));
    await db.transaction(async (tx) => {
      const a = await requireApp(tx, org, params(req).client_id);
      const revoked = await revokeApplicationToken(tx, a.id, params(req).token_uuid!);
      if (!revoked) throw notFound(`application ${a.client_id} has no token ${params(req).token_uuid}`);
      await audit(tx, req, { kind: 'revoke_oauth_api_token', namespace: ns(org), metadata: { oauth_token_uuid: revoked.uuid, application_name: a.name, client_id: a.client_id } });
    });
    return reply.code(204).send();
  });
};
