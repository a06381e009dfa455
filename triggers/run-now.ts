// "Run trigger now": a build of a commit the caller names (commit_sha) or of the head of a branch
// or tag, resolved on the git server with the trigger's deploy key. Manual runs are not subject to
// the skip rules: the user asked for this build.
import type { Db } from '../src/db/index.js';
import type { Keys } from '../src/auth/secret-key.js';
import { invalid } from '../src/errors.js';
import type { BuildRequest } from '../buildman/queue.js';
import { triggerDeployKey, type Trigger } from './trigger-store.js';
import type { TriggerMetadata } from './trigger-metadata.js';
import { triggeredBuildRequest } from './trigger-build.js';

export interface RunNowInput {
  commit_sha?: string;
  branch_name?: string;
  refs?: { kind: 'branch' | 'tag'; name: string };
}

/** Resolves a ref to a commit SHA on the git server (T2's resolveRef in git-source.ts). */
export type ResolveRef = (opts: { url: string; ref: string; privateKey?: string }) => Promise<string>;

function refOf(input: RunNowInput): string | undefined {
  if (input.refs) return `refs/${input.refs.kind === 'tag' ? 'tags' : 'heads'}/${input.refs.name}`;
  if (input.branch_name) return `refs/heads/${input.branch_name}`;
  return undefined;
}

export async function runNowRequest(
  deps: { db: Db; keys: Keys; resolveRef: ResolveRef }, trigger: Trigger, input: RunNowInput, caller: string,
): Promise<BuildRequest> {
  if (!trigger.isActive) throw invalid('trigger', 'the trigger is not activated yet');
  if (!trigger.enabled) throw invalid('trigger', `the build trigger is disabled (${trigger.disabledReason ?? 'user_toggled'}); re-enable it to build`);
  const url = trigger.config.build_source!;
  const ref = refOf(input);
  let commit = input.commit_sha?.toLowerCase();
  if (!commit) {
    if (!ref) throw invalid('commit_sha', 'name what to build: commit_sha, branch_name or refs {kind, name}');
    try {
      commit = await deps.resolveRef({ url, ref, privateKey: (await triggerDeployKey(deps.db, deps.keys, trigger.uuid)) ?? undefined });
    } catch (err) {
      throw invalid(input.refs ? 'refs' : 'branch_name', `cannot resolve ${ref} at ${url}: ${(err as Error).message}`);
    }
  }
  const metadata: TriggerMetadata = { commit, git_url: url, ...(ref ? { ref } : {}) };
  return triggeredBuildRequest(trigger, metadata, caller);
}
