// Activating a trigger: a webhook secret and a deploy key are made for it, and the user who
// activates it becomes the one its builds push as. The key pair is generated before the
// transaction (ssh-keygen is slow) so that the transaction only writes.
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../src/db/index.js';
import type { Keys } from '../src/auth/secret-key.js';
import { invalid } from '../src/errors.js';
import { activateTrigger, type Trigger } from './trigger-store.js';
import type { TriggerConfig } from './trigger-config.js';
import type { DeployKey } from './deploy-key.js';

/** 40 URL-safe characters: it travels in a URL's userinfo for custom git. */
export function newWebhookSecret(): string {
  return randomBytes(30).toString('base64url');
}

export interface ActivationInput {
  config: TriggerConfig;
  connectedUserId: number;
  pullRobotId: number | null;
  deployKey: DeployKey;
  secret: string;
}

export const missingBuildSource = () => invalid('config.build_source', 'config.build_source (the clone URL builds fetch from) is required to activate a trigger');

export async function activate(db: Queryable, keys: Keys, trigger: Trigger, input: ActivationInput): Promise<Trigger> {
  if (!input.config.build_source) throw missingBuildSource();
  return activateTrigger(db, keys, trigger.uuid, input);
}
