import { timingSafeEqual } from 'node:crypto';
import type { Keys } from './secret-key.js';
import { generateRobotToken, hashPassword, verifyPassword } from './passwords.js';
import { isNamespaceName, splitRobotName } from './names.js';
import { isUniqueViolation, type Queryable } from '../db/index.js';
import { conflict, DomainError, invalid, notFound } from '../errors.js';

export type AccountKind = 'user' | 'org' | 'robot';

export interface Account {
  id: number;
  name: string;
  kind: AccountKind;
  email: string | null;
  parent_id: number | null;
  superuser: boolean;
  enabled: boolean;
  description: string;
  tag_expiration_s: number;
  created_at: number;
}

interface AccountRow extends Account {
  password_hash: string | null;
  token_enc: string | null;
}

const COLUMNS = ['id', 'name', 'kind', 'email', 'parent_id', 'superuser', 'enabled', 'description', 'tag_expiration_s', 'created_at'];

export function toAccount(row: AccountRow | Record<string, unknown>): Account {
  const r = row as AccountRow;
  return {
    id: r.id, name: r.name, kind: r.kind, email: r.email ?? null, parent_id: r.parent_id ?? null,
    superuser: Boolean(r.superuser), enabled: Boolean(r.enabled), description: r.description ?? '',
    tag_expiration_s: Number(r.tag_expiration_s), created_at: Number(r.created_at),
  };
}

export async function findAccount(db: Queryable, name: string): Promise<Account | null> {
  const row = await db('accounts').select(COLUMNS).where({ name }).first();
  return row ? toAccount(row) : null;
}

export async function getAccountById(db: Queryable, id: number): Promise<Account | null> {
  const row = await db('accounts').select(COLUMNS).where({ id }).first();
  return row ? toAccount(row) : null;
}

/** `field` names where the caller's input gave the name, for the 404 (Quay's path parameter names by default). */
export async function requireNamespace(db: Queryable, name: string, field = 'namespace'): Promise<Account> {
  const acc = await findAccount(db, name);
  if (!acc || acc.kind === 'robot') throw notFound(`namespace ${name} does not exist`, field);
  return acc;
}

export async function requireOrganization(db: Queryable, name: string, field = 'orgname'): Promise<Account> {
  const acc = await findAccount(db, name);
  if (acc?.kind !== 'org') throw notFound(`organization ${name} does not exist`, field);
  return acc;
}

export async function requireUser(db: Queryable, name: string, field = 'username'): Promise<Account> {
  const acc = await findAccount(db, name);
  if (acc?.kind !== 'user') throw notFound(`user ${name} does not exist`, field);
  return acc;
}

export const EMAIL_RE = /^[^@\s]+@[^@\s]+$/;

/** Changes a user's or organization's contact email. */
export async function changeEmail(db: Queryable, account: Account, email: string): Promise<void> {
  if (!EMAIL_RE.test(email)) throw invalid('email', `invalid email address ${JSON.stringify(email)}`);
  await db('accounts').where({ id: account.id }).whereIn('kind', ['user', 'org']).update({ email });
}

/** Sets the time machine window of a namespace to one of the configured choices (seconds). */
export async function changeTagExpiration(db: Queryable, account: Account, seconds: number, choices: readonly number[]): Promise<void> {
  if (!choices.includes(seconds)) {
    throw invalid('tag_expiration_s', `tag_expiration_s must be one of ${choices.join(', ')} (TAG_EXPIRATION_OPTIONS)`);
  }
  await db('accounts').where({ id: account.id }).whereIn('kind', ['user', 'org']).update({ tag_expiration_s: seconds });
}

async function insertAccount(db: Queryable, values: Record<string, unknown>): Promise<Account> {
  try {
    const [row] = await db('accounts').insert({ created_at: Date.now(), ...values }).returning(COLUMNS);
    return toAccount(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`the name ${String(values.name)} is already taken`, 'name');
    throw err;
  }
}

export interface CreateUserInput {
  name: string;
  email: string;
  password: string;
  superuser?: boolean;
}

export async function createUser(db: Queryable, input: CreateUserInput): Promise<Account> {
  if (!isNamespaceName(input.name)) throw invalid('name', `invalid user name ${JSON.stringify(input.name)}: use 2–255 lowercase letters, digits, and . _ - between them`);
  if (!EMAIL_RE.test(input.email)) throw invalid('email', `invalid email address ${JSON.stringify(input.email)}`);
  if (input.password.length < 8) throw invalid('password', 'password must be at least 8 characters');
  return insertAccount(db, {
    name: input.name, kind: 'user', email: input.email,
    password_hash: await hashPassword(input.password), superuser: input.superuser ?? false,
  });
}

export async function setPassword(db: Queryable, userId: number, password: string): Promise<void> {
  if (password.length < 8) throw invalid('password', 'password must be at least 8 characters');
  await db('accounts').where({ id: userId, kind: 'user' }).update({ password_hash: await hashPassword(password) });
}

/** An organization with an `owners` team (role admin) holding its first owner. */
export async function createOrganization(db: Queryable, input: { name: string; email?: string; owner: Account }): Promise<Account> {
  if (!isNamespaceName(input.name)) throw invalid('name', `invalid organization name ${JSON.stringify(input.name)}: use 2–255 lowercase letters, digits, and . _ - between them`);
  if (input.owner.kind !== 'user') throw invalid('owner', 'an organization owner must be a user');
  const run = async (tx: Queryable) => {
    const org = await insertAccount(tx, { name: input.name, kind: 'org', email: input.email ?? null });
    const [team] = await tx('teams').insert({ org_id: org.id, name: 'owners', role: 'admin', description: '' }).returning(['id']);
    await tx('team_members').insert({ team_id: team.id, account_id: input.owner.id });
    return org;
  };
  return db.transaction(run);
}

/** Deletes an organization with its teams, robots and repositories (the foreign keys cascade). */
export async function deleteOrganization(db: Queryable, org: Account): Promise<void> {
  const deleted = await db('accounts').where({ id: org.id, kind: 'org' }).delete();
  if (deleted === 0) throw notFound(`organization ${org.name} does not exist`);
}

export interface RobotWithToken {
  account: Account;
  token: string;
}

export async function createRobot(db: Queryable, keys: Keys, fullName: string, description = ''): Promise<RobotWithToken> {
  const parts = splitRobotName(fullName);
  if (!parts) throw invalid('name', `invalid robot name ${JSON.stringify(fullName)}: expected namespace+name, the name starting with a letter, then lowercase letters, digits or _`);
  const owner = await requireNamespace(db, parts.namespace);
  const token = generateRobotToken();
  const account = await insertAccount(db, {
    name: fullName, kind: 'robot', parent_id: owner.id, token_enc: keys.encrypt(token), description,
  });
  return { account, token };
}

export async function robotToken(db: Queryable, keys: Keys, robotId: number): Promise<string> {
  const row = await db('accounts').select('token_enc').where({ id: robotId, kind: 'robot' }).first();
  if (!row?.token_enc) throw notFound('robot not found');
  return keys.decrypt(row.token_enc);
}

/** What robot logins answer when ROBOTS_DISALLOW is set: Quay's words, which users search for. */
export const ROBOTS_DISABLED_MESSAGE = 'Robot accounts have been disabled. Please contact your administrator.';

/** Robot logins mark the robot used at most this often, so that a busy robot does not write on every pull. */
const LAST_ACCESSED_GRANULARITY_MS = 60_000;

/**
 * Checks a name and secret (a user's password or a robot's token); null when they do not match.
 * With `robotsDisallowed`, any robot name is refused (as unauthenticated) before its token is looked at.
 */
export async function verifyCredentials(
  db: Queryable, keys: Keys, name: string, secret: string, opts: { robotsDisallowed?: boolean } = {},
): Promise<Account | null> {
  return (await verifyCredentialsSealed(db, keys, name, secret, opts))?.account ?? null;
}

/**
 * verifyCredentials, also giving the sealed robot token the secret matched (null for a user), so
 * that a registry token can name that token's generation without reading the row again.
 */
export async function verifyCredentialsSealed(
  db: Queryable, keys: Keys, name: string, secret: string, opts: { robotsDisallowed?: boolean } = {},
): Promise<{ account: Account; sealedToken: string | null } | null> {
  if (opts.robotsDisallowed && name.includes('+')) throw new DomainError('unauthenticated', ROBOTS_DISABLED_MESSAGE);
  const row = (await db('accounts').where({ name }).first()) as (AccountRow & { last_accessed?: number | null }) | undefined;
  if (!row || !row.enabled) return null;
  if (row.kind === 'user') return (await verifyPassword(secret, row.password_hash)) ? { account: toAccount(row), sealedToken: null } : null;
  if (row.kind === 'robot' && row.token_enc) {
    const expected = Buffer.from(keys.decrypt(row.token_enc));
    const given = Buffer.from(secret);
    if (expected.length === given.length && timingSafeEqual(expected, given)) {
      // A robot is disabled with its namespace.
      const parent = row.parent_id ? await getAccountById(db, row.parent_id) : null;
      if (parent?.enabled === false) return null;
      const now = Date.now();
      if (now - Number(row.last_accessed ?? 0) > LAST_ACCESSED_GRANULARITY_MS) {
        await db('accounts').where({ id: row.id }).update({ last_accessed: now });
      }
      return { account: toAccount(row), sealedToken: row.token_enc };
    }
  }
  return null;
}
