// What happens to one webhook request, in order: find the trigger, check the sender's credentials
// on the raw bytes, refuse a disabled trigger, parse, apply the skip rules, dedupe the delivery,
// and enqueue the build. The caller answers only after this returns, so after the build committed.
import { isUniqueViolation, type Db } from '../src/db/index.js';
import type { Keys } from '../src/auth/secret-key.js';
import { conflict, invalid, notFound } from '../src/errors.js';
import { getRepositoryById } from '../src/repos/repositories.js';
import type { BuildQueue } from '../buildman/queue.js';
import type { Build } from '../buildman/build-model.js';
import { findTrigger, triggerSecret, type TriggerService } from './trigger-store.js';
import { skipReason } from './skip-rules.js';
import { buildableProblem, triggeredBuildRequest } from './trigger-build.js';
import { deliveredBuild, recordDelivery } from './deliveries.js';
import type { ServiceHandler, WebhookInput } from './webhook/service-handler.js';
import { githubHandler } from './webhook/github.js';
import { gitlabHandler } from './webhook/gitlab.js';
import { customGitHandler } from './webhook/custom-git.js';

const HANDLERS: Record<TriggerService, ServiceHandler> = {
  github: githubHandler,
  gitlab: gitlabHandler,
  'custom-git': customGitHandler,
};

/** The webhook's answer body; post-receive hooks print `build_id` or `reason` back to the pusher. */
export type PushAnswer =
  | { status: 'queued'; build_id: string; tags: string[]; commit: string }
  | { status: 'skipped' | 'ignored'; reason: string }
  | { status: 'duplicate'; reason: string; build_id: string | null };

export interface ReceiveDeps {
  db: Db;
  keys: Keys;
  queue: BuildQueue;
}

export async function receivePush(deps: ReceiveDeps, triggerUuid: string, input: WebhookInput): Promise<PushAnswer> {
  const trigger = await findTrigger(deps.db, triggerUuid);
  const secret = trigger?.isActive ? await triggerSecret(deps.db, deps.keys, trigger.uuid) : null;
  if (!trigger || !secret) throw notFound(`no active build trigger ${triggerUuid}`);
  const handler = HANDLERS[trigger.service];
  await handler.verify(input, secret);
  if (!trigger.enabled) throw invalid('trigger', `the build trigger is disabled (${trigger.disabledReason ?? 'user_toggled'}); re-enable it to build again`);

  const outcome = handler.parse(input, trigger);
  if (outcome.kind === 'ignored') return { status: 'ignored', reason: outcome.reason };
  const skipped = skipReason(trigger.config, outcome.metadata);
  if (skipped) return { status: 'skipped', reason: skipped };
  const repo = await getRepositoryById(deps.db, trigger.repositoryId);
  const problem = repo ? buildableProblem(repo) : 'the repository no longer exists';
  if (problem) throw conflict(problem);

  const request = triggeredBuildRequest(trigger, outcome.metadata, null);
  const { deliveryId } = outcome;
  if (!deliveryId) return queued(await deps.queue.enqueue(request));
  const duplicate = (buildId: string | null): PushAnswer => ({ status: 'duplicate', reason: `delivery ${deliveryId} was already received`, build_id: buildId });
  const earlier = await deliveredBuild(deps.db, trigger.uuid, deliveryId);
  if (earlier !== undefined) return duplicate(earlier);
  try {
    return queued(await deps.queue.enqueue(request, (tx, b) => recordDelivery(tx, trigger.uuid, deliveryId, b.uuid)));
  } catch (err) {
    // A copy of this delivery enqueued its build first; ours rolled back whole.
    if (!isUniqueViolation(err)) throw err;
    return duplicate((await deliveredBuild(deps.db, trigger.uuid, deliveryId)) ?? null);
  }
}

function queued(build: Build): PushAnswer {
  return { status: 'queued', build_id: build.uuid, tags: build.tags, commit: build.source.kind === 'git' ? build.source.commit : '' };
}
