// The trigger REST API under /api/v1/repository/{ns}/{repo}/trigger/… in Quay's shapes
// (endpoints/api/trigger.py). Every endpoint needs repository admin, as in Quay.
import { z } from 'zod';
import { invalid } from '../../src/errors.js';
import { parseInput } from '../../src/api/validate.js';
import { audit } from '../../src/api/context.js';
import { documented } from '../../src/api/route-docs.js';
import { callerAccount } from '../../src/api/users.js';
import { lendableRobot } from '../../src/api/robots.js';
import type { Keys } from '../../src/auth/secret-key.js';
import type { RepoEndpoint, RepoRequest } from '../../src/api/repo-router.js';
import type { Repository } from '../../src/repos/repositories.js';
import type { BuildQueue } from '../../buildman/queue.js';
import { buildFromRow, buildQuery } from '../../buildman/build-model.js';
import { buildView } from '../../buildman/build-view.js';
import {
  createTrigger, deleteTrigger, listTriggers, requireTrigger, setTriggerEnabled, triggerSecret, TRIGGER_SERVICES, type Trigger,
} from '../trigger-store.js';
import { storedConfig, triggerConfigSchema } from '../trigger-config.js';
import { triggerCredentials, triggerView, type Site } from '../trigger-view.js';
import { activate, missingBuildSource, newWebhookSecret } from '../activation.js';
import { runNowRequest, type ResolveRef } from '../run-now.js';
import { buildableProblem } from '../trigger-build.js';
import type { DeployKey } from '../deploy-key.js';

export interface TriggerApiDeps {
  queue: BuildQueue;
  site: Site;
  generateDeployKey(comment: string): Promise<DeployKey>;
  resolveRef: ResolveRef;
}

const createBody = z.strictObject({
  service: z.enum(TRIGGER_SERVICES),
  config: triggerConfigSchema.default({}),
  pull_robot: z.string().min(1).nullish(),
});
const activateBody = z.strictObject({ config: triggerConfigSchema.optional(), pull_robot: z.string().min(1).nullish() });
const toggleBody = z.strictObject({ enabled: z.boolean() });
const refName = z.string().min(1).max(255).regex(/^[^\s~^:?*[\\]+$/, 'must be a git ref name');
const startBody = z.strictObject({
  commit_sha: z.string().regex(/^[A-Fa-f0-9]{7,64}$/, 'must be a commit SHA (7 to 64 hex digits: SHA-1 or SHA-256 repositories)').optional(),
  branch_name: refName.optional(),
  refs: z.strictObject({ kind: z.enum(['branch', 'tag']), name: refName }).optional(),
});
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(5) });

/** The robot a trigger's builds pull private base images as, once the caller may lend it. */
async function pullRobotId(r: RepoRequest, name: string | null | undefined): Promise<number | null> {
  return name ? (await lendableRobot(r.deps, r.req, name)).id : null;
}

async function view(keys: Keys, r: RepoRequest, site: Site, t: Trigger): Promise<Record<string, unknown>> {
  const secret = t.isActive ? await triggerSecret(r.deps.db, keys, t.uuid) : null;
  return triggerView(t, secret ? triggerCredentials(t, secret, site) : null);
}

const logTarget = (repo: Repository) => ({ namespace: { id: repo.namespace_id, name: repo.namespace }, repository: repo });

export function triggerEndpoints(deps: TriggerApiDeps): RepoEndpoint[] {
  const docs = (summary: string) => documented(summary, ['repo:admin']).schema;
  const load = async (r: RepoRequest) => {
    const repo = await r.repo('admin');
    return { repo, trigger: await requireTrigger(r.deps.db, repo.id, r.params.uuid!) };
  };
  return [
    {
      method: 'GET', path: 'trigger/', doc: docs("List the repository's build triggers"),
      async handler(r) {
        const repo = await r.repo('admin');
        const triggers = await listTriggers(r.deps.db, repo.id);
        return { triggers: await Promise.all(triggers.map((t) => view(r.deps.keys, r, deps.site, t))) };
      },
    },
    {
      method: 'POST', path: 'trigger/', doc: docs('Create a build trigger (github, gitlab or custom-git); activate it next'),
      async handler(r) {
        const repo = await r.repo('admin');
        const body = parseInput(createBody, r.req.body);
        const config = storedConfig(body.config);
        const robotId = await pullRobotId(r, body.pull_robot ?? body.config.pull_robot);
        const trigger = await createTrigger(r.deps.db, { repositoryId: repo.id, service: body.service, config, connectedUserId: callerAccount(r.req).id, pullRobotId: robotId });
        r.reply.code(201).header('Location', `/api/v1/repository/${repo.namespace}/${repo.name}/trigger/${trigger.uuid}`);
        return view(r.deps.keys, r, deps.site, trigger);
      },
    },
    {
      method: 'GET', path: 'trigger/:uuid', doc: docs('One build trigger, with its credentials'),
      async handler(r) {
        const { trigger } = await load(r);
        return view(r.deps.keys, r, deps.site, trigger);
      },
    },
    {
      method: 'PUT', path: 'trigger/:uuid', doc: docs('Enable or disable a build trigger ({"enabled": bool}); enabling resets its failure counts'),
      async handler(r) {
        const { repo, trigger } = await load(r);
        const { enabled } = parseInput(toggleBody, r.req.body);
        await r.deps.db.transaction(async (tx) => {
          await setTriggerEnabled(tx, trigger.uuid, enabled, enabled ? null : 'user_toggled');
          await audit(tx, r.req, { kind: 'toggle_repo_trigger', ...logTarget(repo), metadata: { repo: repo.name, namespace: repo.namespace, trigger_id: trigger.uuid, service: trigger.service, enabled } });
        });
        return view(r.deps.keys, r, deps.site, await requireTrigger(r.deps.db, repo.id, trigger.uuid));
      },
    },
    {
      method: 'DELETE', path: 'trigger/:uuid', doc: docs('Delete a build trigger (its builds stay)'),
      async handler(r) {
        const { repo, trigger } = await load(r);
        await r.deps.db.transaction(async (tx) => {
          await deleteTrigger(tx, trigger.uuid);
          await audit(tx, r.req, { kind: 'delete_repo_trigger', ...logTarget(repo), metadata: { repo: repo.name, namespace: repo.namespace, trigger_id: trigger.uuid, service: trigger.service } });
        });
        return r.reply.code(204).send();
      },
    },
    {
      method: 'POST', path: 'trigger/:uuid/activate', doc: docs('Activate a trigger: returns its webhook URL, secret and deploy key'),
      async handler(r) {
        const { repo, trigger } = await load(r);
        const body = parseInput(activateBody, r.req.body);
        const config = body.config ? storedConfig(body.config) : trigger.config;
        const robotName = body.pull_robot !== undefined ? body.pull_robot : body.config?.pull_robot !== undefined ? body.config.pull_robot : trigger.pullRobot;
        const robotId = await pullRobotId(r, robotName);
        // Checked before ssh-keygen runs for a request that activate() would refuse anyway.
        if (!config.build_source) throw missingBuildSource();
        const deployKey = await deps.generateDeployKey(`slipway trigger ${trigger.uuid} for ${repo.namespace}/${repo.name}`);
        const user = callerAccount(r.req);
        const activated = await r.deps.db.transaction(async (tx) => {
          const t = await activate(tx, r.deps.keys, trigger, { config, connectedUserId: user.id, pullRobotId: robotId, deployKey, secret: newWebhookSecret() });
          await audit(tx, r.req, { kind: 'setup_repo_trigger', ...logTarget(repo), metadata: { repo: repo.name, namespace: repo.namespace, trigger_id: t.uuid, service: t.service, config } });
          return t;
        });
        const secret = (await triggerSecret(r.deps.db, r.deps.keys, activated.uuid))!;
        const creds = triggerCredentials(activated, secret, deps.site);
        return {
          ...triggerView(activated, creds),
          webhook_url: creds.webhookUrl,
          public_key: creds.publicKey,
          ...(activated.service === 'custom-git' ? {} : { secret }),
        };
      },
    },
    {
      method: 'POST', path: 'trigger/:uuid/start', doc: docs('Run a trigger now, for commit_sha, branch_name or refs {kind, name}'),
      async handler(r) {
        const { repo, trigger } = await load(r);
        const input = parseInput(startBody, r.req.body);
        const problem = buildableProblem(repo);
        if (problem) throw invalid('repository', problem);
        const request = await runNowRequest({ db: r.deps.db, keys: r.deps.keys, resolveRef: deps.resolveRef }, trigger, input, callerAccount(r.req).name);
        const build = await deps.queue.enqueue(request);
        r.reply.code(201).header('Location', `/api/v1/repository/${repo.namespace}/${repo.name}/build/${build.uuid}`);
        return buildView(build, { isWriter: true });
      },
    },
    {
      method: 'GET', path: 'trigger/:uuid/builds', doc: docs("A trigger's builds, newest first"),
      async handler(r) {
        const { repo, trigger } = await load(r);
        const { limit } = parseInput(listQuery, r.req.query);
        const rows = await buildQuery(r.deps.db).where({ 'b.repository_id': repo.id, 'b.trigger_id': trigger.uuid })
          .orderBy('b.started_at', 'desc').orderBy('b.id', 'desc').limit(limit);
        return { builds: rows.map((row: Record<string, unknown>) => buildView(buildFromRow(row), { isWriter: true })) };
      },
    },
  ];
}
