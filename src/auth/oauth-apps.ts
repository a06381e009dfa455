// OAuth applications owned by organizations (Quay's OAuthApplication).
import { timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/index.js';
import { invalid } from '../errors.js';
import type { Account } from './accounts.js';
import type { Keys } from './secret-key.js';
import { randomAlphanumeric } from './oauth-tokens.js';

export interface OAuthApplication {
  id: number;
  org_id: number;
  client_id: string;
  name: string;
  description: string;
  application_uri: string;
  redirect_uri: string;
  avatar_email: string | null;
  created_at: number;
}

export interface ApplicationFields {
  name: string;
  description?: string;
  application_uri?: string;
  redirect_uri?: string;
  avatar_email?: string | null;
}

const COLUMNS = ['id', 'org_id', 'client_id', 'name', 'description', 'application_uri', 'redirect_uri', 'avatar_email', 'created_at'];
// Quay's sizes: a 20-character client id and a 40-character secret.
const CLIENT_ID_LENGTH = 20;
const CLIENT_SECRET_LENGTH = 40;

function toApplication(row: Record<string, unknown>): OAuthApplication {
  return {
    id: Number(row.id), org_id: Number(row.org_id), client_id: String(row.client_id), name: String(row.name),
    description: String(row.description ?? ''), application_uri: String(row.application_uri ?? ''),
    redirect_uri: String(row.redirect_uri ?? ''), avatar_email: (row.avatar_email as string | null) ?? null,
    created_at: Number(row.created_at),
  };
}

function checkUri(field: string, value: string | undefined): void {
  if (!value) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(field, `${field} must be an absolute http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(field, `${field} must be an absolute http:// or https:// URL`);
  // A fragment can never reach the application in a redirect (RFC 6749 §3.1.2).
  if (field === 'redirect_uri' && url.hash) throw invalid(field, 'redirect_uri must not contain a fragment');
}

function checkFields(input: ApplicationFields): void {
  if (!input.name.trim()) throw invalid('name', 'name must not be empty');
  checkUri('redirect_uri', input.redirect_uri);
  checkUri('application_uri', input.application_uri);
  if (input.avatar_email && !/^[^@\s]+@[^@\s]+$/.test(input.avatar_email)) throw invalid('avatar_email', `invalid email address ${JSON.stringify(input.avatar_email)}`);
}

function columnsOf(input: ApplicationFields) {
  return {
    name: input.name.trim(), description: input.description ?? '', application_uri: input.application_uri ?? '',
    redirect_uri: input.redirect_uri ?? '', avatar_email: input.avatar_email || null,
  };
}

export async function createApplication(db: Queryable, keys: Keys, org: Account, input: ApplicationFields): Promise<OAuthApplication> {
  if (org.kind !== 'org') throw invalid('orgname', 'OAuth applications belong to organizations');
  checkFields(input);
  const [row] = await db('oauth_applications')
    .insert({
      org_id: org.id, client_id: randomAlphanumeric(CLIENT_ID_LENGTH).toUpperCase(),
      client_secret_enc: keys.encrypt(randomAlphanumeric(CLIENT_SECRET_LENGTH)), ...columnsOf(input), created_at: Date.now(),
    })
    .returning(COLUMNS);
  return toApplication(row);
}

export async function listApplications(db: Queryable, orgId: number): Promise<OAuthApplication[]> {
  const rows = await db('oauth_applications').where({ org_id: orgId }).orderBy(['name', 'id']).select(COLUMNS);
  return rows.map(toApplication);
}

/** The organization's application with that client id, or null. */
export async function findApplication(db: Queryable, orgId: number, clientId: string): Promise<OAuthApplication | null> {
  const row = await db('oauth_applications').where({ org_id: orgId, client_id: clientId }).first(COLUMNS);
  return row ? toApplication(row) : null;
}

export async function findApplicationByClientId(db: Queryable, clientId: string): Promise<OAuthApplication | null> {
  const row = await db('oauth_applications').where({ client_id: clientId }).first(COLUMNS);
  return row ? toApplication(row) : null;
}

/** Replaces the application's fields (Quay's PUT sends them all). */
export async function updateApplication(db: Queryable, app: OAuthApplication, input: ApplicationFields): Promise<OAuthApplication> {
  checkFields(input);
  await db('oauth_applications').where({ id: app.id }).update(columnsOf(input));
  return toApplication(await db('oauth_applications').where({ id: app.id }).first(COLUMNS));
}

/** Deletes the application; its codes and tokens go with it, so they stop working at once. */
export async function deleteApplication(db: Queryable, app: OAuthApplication): Promise<void> {
  await db('oauth_authorization_codes').where({ application_id: app.id }).delete();
  await db('oauth_access_tokens').where({ application_id: app.id }).delete();
  await db('oauth_applications').where({ id: app.id }).delete();
}

/** A new secret; the old one stops authenticating the client (tokens already issued stay valid). */
export async function resetClientSecret(db: Queryable, keys: Keys, app: OAuthApplication): Promise<void> {
  await db('oauth_applications').where({ id: app.id }).update({ client_secret_enc: keys.encrypt(randomAlphanumeric(CLIENT_SECRET_LENGTH)) });
}

/** The client secret in clear, for the organization's admins. */
export async function clientSecret(db: Queryable, keys: Keys, app: OAuthApplication): Promise<string> {
  const row = await db('oauth_applications').where({ id: app.id }).first('client_secret_enc');
  return keys.decrypt(String(row.client_secret_enc));
}

/** The application when the client id and secret match, else null. */
export async function authenticateClient(db: Queryable, keys: Keys, clientId: string, secret: string): Promise<OAuthApplication | null> {
  const row = await db('oauth_applications').where({ client_id: clientId }).first([...COLUMNS, 'client_secret_enc']);
  if (!row) return null;
  const expected = Buffer.from(keys.decrypt(String(row.client_secret_enc)));
  const given = Buffer.from(secret);
  return expected.length === given.length && timingSafeEqual(expected, given) ? toApplication(row) : null;
}

/**
 * Whether a redirect URI may receive codes for the application. As in Quay, the registered URI is
 * a prefix: same scheme, host and port, and a path under the registered one. Unlike Quay the
 * prefix must end at a path segment, so `/cb` does not admit `/cbevil`.
 */
export function redirectUriAllowed(app: OAuthApplication, candidate: string): boolean {
  if (!app.redirect_uri) return false;
  let registered: URL;
  let given: URL;
  try {
    registered = new URL(app.redirect_uri);
    given = new URL(candidate);
  } catch {
    return false;
  }
  if (given.hash || registered.protocol !== given.protocol || registered.host !== given.host) return false;
  const base = registered.pathname;
  const path = given.pathname;
  if (path === base) return true;
  return path.startsWith(base.endsWith('/') ? base : base + '/');
}
