// Turns a push (or a manual run) into a build request for buildman's queue: the git source, the
// trigger's metadata, the tags from its templates and the paths from its config.
import type { BuildRequest } from '../buildman/queue.js';
import type { Trigger } from './trigger-store.js';
import type { TriggerMetadata } from './trigger-metadata.js';
import { buildPaths } from './trigger-config.js';
import { determineTags } from './tag-templates.js';

export function triggeredBuildRequest(trigger: Trigger, metadata: TriggerMetadata, manualUser: string | null): BuildRequest {
  const { context, dockerfilePath } = buildPaths(trigger.config);
  return {
    repositoryId: trigger.repositoryId,
    tags: determineTags(trigger.config, metadata),
    displayName: metadata.commit.slice(0, 7),
    source: { kind: 'git', url: metadata.git_url, commit: metadata.commit, ...(metadata.ref ? { ref: metadata.ref } : {}), triggerId: trigger.uuid },
    trigger: { id: trigger.uuid, kind: trigger.service, metadata: { ...metadata } },
    manualUser,
    pullRobot: trigger.pullRobot,
    dockerfilePath,
    context,
  };
}

/** Builds push to the repository: only a NORMAL image repository can take them (as for manual builds). */
export function buildableProblem(repo: { state: string; kind: string; namespace: string; name: string }): string | null {
  if (repo.kind !== 'image') return `${repo.namespace}/${repo.name} is not an image repository: it cannot be built`;
  if (repo.state !== 'NORMAL') return `${repo.namespace}/${repo.name} is ${repo.state.toLowerCase()}: builds cannot push to it`;
  return null;
}
