// Build triggers as the database holds them. Secrets (the webhook secret, the deploy key's private
// half) are sealed with the configured secret key: they must be shown again and used for cloning.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../src/db/index.js';
import type { Keys } from '../src/auth/secret-key.js';
import { conflict, notFound } from '../src/errors.js';
import type { TriggerConfig } from './trigger-config.js';

export const TRIGGER_SERVICES = ['github', 'gitlab', 'custom-git'] as const;
export type TriggerService = (typeof TRIGGER_SERVICES)[number];

/** Why a trigger was switched off: by a person, or by its builds failing (see auto-disable.ts). */
export type DisabledReason = 'user_toggled' | 'successive_build_failures' | 'successive_build_internal_errors';

export interface Trigger {
  id: number;
  uuid: string;
  repositoryId: number;
  service: TriggerService;
  config: TriggerConfig;
  /** Builds push in this user's name; null once the user is deleted. */
  connectedUser: string | null;
  pullRobot: string | null;
  publicKey: string | null;
  isActive: boolean;
  enabled: boolean;
  disabledReason: DisabledReason | null;
  successiveFailureCount: number;
  successiveInternalErrorCount: number;
  createdAt: number;
  updatedAt: number;
}

function toTrigger(row: Record<string, unknown>): Trigger {
  return {
    id: Number(row.id),
    uuid: String(row.uuid),
    repositoryId: Number(row.repository_id),
    service: row.service as TriggerService,
    config: JSON.parse(String(row.config)) as TriggerConfig,
    connectedUser: (row.connected_user as string | null) ?? null,
    pullRobot: (row.pull_robot as string | null) ?? null,
    publicKey: (row.public_key as string | null) ?? null,
    isActive: Boolean(row.is_active),
    enabled: Boolean(row.enabled),
    disabledReason: (row.disabled_reason as DisabledReason | null) ?? null,
    successiveFailureCount: Number(row.successive_failure_count),
    successiveInternalErrorCount: Number(row.successive_internal_error_count),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function triggerQuery(db: Queryable) {
  return db('build_triggers as t')
    .leftJoin('accounts as u', 'u.id', 't.connected_user_id')
    .leftJoin('accounts as p', 'p.id', 't.pull_robot_id')
    .select('t.*', 'u.name as connected_user', 'p.name as pull_robot');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function findTrigger(db: Queryable, uuid: string): Promise<Trigger | null> {
  if (!UUID.test(uuid)) return null;
  const row = await triggerQuery(db).where('t.uuid', uuid).first();
  return row ? toTrigger(row) : null;
}

/** The repository's trigger with that uuid; any other is refused as missing. */
export async function requireTrigger(db: Queryable, repositoryId: number, uuid: string): Promise<Trigger> {
  const t = await findTrigger(db, uuid);
  if (!t || t.repositoryId !== repositoryId) throw notFound(`no build trigger ${uuid} in this repository`);
  return t;
}

export async function listTriggers(db: Queryable, repositoryId: number): Promise<Trigger[]> {
  const rows = await triggerQuery(db).where('t.repository_id', repositoryId).orderBy('t.id');
  return rows.map(toTrigger);
}

export interface NewTrigger {
  repositoryId: number;
  service: TriggerService;
  config: TriggerConfig;
  connectedUserId: number;
  pullRobotId: number | null;
}

export async function createTrigger(db: Queryable, input: NewTrigger, now = Date.now()): Promise<Trigger> {
  const uuid = randomUUID();
  await db('build_triggers').insert({
    uuid, repository_id: input.repositoryId, service: input.service, config: JSON.stringify(input.config),
    connected_user_id: input.connectedUserId, pull_robot_id: input.pullRobotId, created_at: now, updated_at: now,
  });
  return (await findTrigger(db, uuid))!;
}

export interface Activation {
  config: TriggerConfig;
  connectedUserId: number;
  pullRobotId: number | null;
  secret: string;
  deployKey: { publicKey: string; privateKey: string };
}

/** Stores what activation made; refused when another activation got there first. */
export async function activateTrigger(db: Queryable, keys: Keys, uuid: string, a: Activation, now = Date.now()): Promise<Trigger> {
  const n = await db('build_triggers').where({ uuid, is_active: false }).update({
    config: JSON.stringify(a.config), connected_user_id: a.connectedUserId, pull_robot_id: a.pullRobotId,
    secret_enc: keys.encrypt(a.secret), private_key_enc: keys.encrypt(a.deployKey.privateKey), public_key: a.deployKey.publicKey,
    is_active: true, updated_at: now,
  });
  if (n !== 1) throw conflict('the trigger is already activated');
  return (await findTrigger(db, uuid))!;
}

/** Switching a trigger on again starts its failure counts afresh, so one more failure does not switch it off. */
export async function setTriggerEnabled(db: Queryable, uuid: string, enabled: boolean, reason: DisabledReason | null, now = Date.now()): Promise<void> {
  const fields = enabled
    ? { enabled: true, disabled_reason: null, successive_failure_count: 0, successive_internal_error_count: 0 }
    : { enabled: false, disabled_reason: reason };
  await db('build_triggers').where({ uuid }).update({ ...fields, updated_at: now });
}

export async function deleteTrigger(db: Queryable, uuid: string): Promise<void> {
  await db('build_triggers').where({ uuid }).delete();
}

/** The webhook secret (GitHub's HMAC key, GitLab's token, custom git's `$token` password); null before activation. */
export async function triggerSecret(db: Queryable, keys: Keys, triggerUuid: string): Promise<string | null> {
  const row = await db('build_triggers').select('secret_enc').where({ uuid: triggerUuid }).first();
  return row?.secret_enc ? keys.decrypt(String(row.secret_enc)) : null;
}

/** The deploy key's private half, for cloning the trigger's source; null before activation. */
export async function triggerDeployKey(db: Queryable, keys: Keys, triggerUuid: string): Promise<string | null> {
  const row = await db('build_triggers').select('private_key_enc').where({ uuid: triggerUuid }).first();
  return row?.private_key_enc ? keys.decrypt(String(row.private_key_enc)) : null;
}
