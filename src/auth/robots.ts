// Robot accounts of a namespace (a user or an organization), as the robots API sees them.
import type { Keys } from './secret-key.js';
import { createRobot, findAccount, ROBOTS_DISABLED_MESSAGE, toAccount, type Account } from './accounts.js';
import { ROBOT_SHORT_RE, type RepoRole } from './names.js';
import { generateRobotToken } from './passwords.js';
import type { Queryable } from '../db/index.js';
import { conflict, DomainError, invalid, notFound } from '../errors.js';

export interface Robot {
  account: Account;
  /** The part after `namespace+`. */
  short: string;
  last_accessed: number | null;
  metadata: Record<string, unknown>;
}

export interface RobotListing extends Robot {
  teams: string[];
  repositories: string[];
}

export interface RobotPermission {
  repository: string;
  is_public: boolean;
  role: RepoRole;
}

const DESCRIPTION_MAX = 255;

function robotName(namespace: Account, short: string): string {
  return `${namespace.name}+${short}`;
}

function parseMetadata(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string' || text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function toRobot(namespace: Account, row: Record<string, unknown>): Robot {
  const account = toAccount(row);
  return {
    account,
    short: account.name.slice(namespace.name.length + 1),
    last_accessed: row.last_accessed == null ? null : Number(row.last_accessed),
    metadata: parseMetadata(row.robot_metadata),
  };
}

function robotsOf(db: Queryable, namespace: Account) {
  return db('accounts').where({ parent_id: namespace.id, kind: 'robot' });
}

export async function requireRobot(db: Queryable, namespace: Account, short: string): Promise<Robot> {
  const row = ROBOT_SHORT_RE.test(short) ? await robotsOf(db, namespace).where({ name: robotName(namespace, short) }).first() : undefined;
  if (!row) throw notFound(`robot ${robotName(namespace, short)} does not exist`);
  return toRobot(namespace, row);
}

export interface CreateRobotInput {
  description?: string;
  metadata?: Record<string, unknown>;
  /** ROBOTS_DISALLOW: creation is refused with Quay's message. */
  disallowed?: boolean;
}

export async function createNamespaceRobot(db: Queryable, keys: Keys, namespace: Account, short: string, input: CreateRobotInput = {}): Promise<{ robot: Robot; token: string }> {
  if (input.disallowed) throw new DomainError('invalid', ROBOTS_DISABLED_MESSAGE);
  if (!ROBOT_SHORT_RE.test(short)) {
    throw invalid('robot_shortname', `invalid robot name ${JSON.stringify(short)}: 2–255 characters, a lowercase letter first, then lowercase letters, digits or _`);
  }
  if (robotName(namespace, short).length > 255) {
    throw invalid('robot_shortname', `robot name ${robotName(namespace, short)} is longer than 255 characters`);
  }
  const description = input.description ?? '';
  if (description.length > DESCRIPTION_MAX) throw invalid('description', `description must be at most ${DESCRIPTION_MAX} characters`);
  return db.transaction(async (tx) => {
    if (await findAccount(tx, robotName(namespace, short))) throw conflict(`robot ${robotName(namespace, short)} already exists`, 'robot_shortname');
    const { account, token } = await createRobot(tx, keys, robotName(namespace, short), description);
    const metadata = input.metadata ?? {};
    await tx('accounts').where({ id: account.id }).update({ robot_metadata: JSON.stringify(metadata) });
    return { robot: { account, short, last_accessed: null, metadata }, token };
  });
}

/** Every robot of the namespace with the teams it is in and the repositories it has a role on. */
export async function listRobots(db: Queryable, namespace: Account): Promise<RobotListing[]> {
  const robots = ((await robotsOf(db, namespace).orderBy('name')) as Record<string, unknown>[]).map((r) => toRobot(namespace, r));
  const ids = robots.map((r) => r.account.id);
  const teamRows: { account_id: number; name: string }[] = ids.length
    ? await db('team_members as m').join('teams as t', 't.id', 'm.team_id').whereIn('m.account_id', ids).select('m.account_id', 't.name').orderBy('t.name')
    : [];
  const repoRows: { account_id: number; name: string }[] = ids.length
    ? await db('repo_permissions as p').join('repositories as r', 'r.id', 'p.repository_id').whereIn('p.account_id', ids).select('p.account_id', 'r.name').orderBy('r.name')
    : [];
  return robots.map((robot) => ({
    ...robot,
    teams: teamRows.filter((t) => Number(t.account_id) === robot.account.id).map((t) => t.name),
    repositories: repoRows.filter((r) => Number(r.account_id) === robot.account.id).map((r) => r.name),
  }));
}

/** A new token for the robot; the old one stops working at once. */
export async function regenerateRobotToken(db: Queryable, keys: Keys, robot: Robot): Promise<string> {
  const token = generateRobotToken();
  await db('accounts').where({ id: robot.account.id, kind: 'robot' }).update({ token_enc: keys.encrypt(token) });
  return token;
}

/** Deletes the robot with its team memberships and repository permissions. */
export async function deleteRobot(db: Queryable, robot: Robot): Promise<void> {
  await db('accounts').where({ id: robot.account.id, kind: 'robot' }).delete();
}

/** The robot's own repository roles (not those it holds through teams), as Quay lists them. */
export async function robotPermissions(db: Queryable, robot: Robot): Promise<RobotPermission[]> {
  const rows: { name: string; visibility: string; role: RepoRole }[] = await db('repo_permissions as p')
    .join('repositories as r', 'r.id', 'p.repository_id')
    .where('p.account_id', robot.account.id)
    .select('r.name', 'r.visibility', 'p.role')
    .orderBy('r.name');
  return rows.map((r) => ({ repository: r.name, is_public: r.visibility === 'public', role: r.role }));
}
