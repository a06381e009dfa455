// The build manager, assembled: the durable queue, the log store and its pub/sub, the scheduler,
// and the /api/v1 module serving builds. Only the composition root (src/main.ts) calls this.
import os from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../src/config/schema.js';
import type { Db } from '../src/db/index.js';
import type { RegistryTokens } from '../src/auth/registry-token.js';
import type { ApiModule } from '../src/api/context.js';
import { registerRepositoryEndpoints } from '../src/api/repo-router.js';
import { findAccount, robotToken } from '../src/auth/accounts.js';
import type { Keys } from '../src/auth/secret-key.js';
import type { Executor } from '../executors/executor.js';
import { createBuildQueue, type BuildQueue, type BuildQueueOptions } from './queue.js';
import type { RunnerDeps } from './runner.js';
import type { Build } from './build-model.js';
import { createInProcessLogPubSub, type LogPubSub } from './log-pubsub.js';
import { bridgeQueueEvents, type ClusterEvents } from './cluster-events.js';
import { createLogStore, type LogStore } from './log-store.js';
import { createScheduler, type ExecutorSlot, type Scheduler } from './scheduler.js';
import { buildEndpoints } from './api/builds.js';
import { buildStreamRoutes } from './api/build-stream.js';
import multipart from '@fastify/multipart';
import { MAX_CONTEXT_BYTES } from './context.js';

export interface BuildManager {
  queue: BuildQueue;
  logs: LogStore;
  pubsub: LogPubSub;
  scheduler: Scheduler;
  /** Serves the build API; hand it to createApp's apiModules. */
  apiModule: ApiModule;
}

export interface BuildManagerDeps {
  config: Config;
  db: Db;
  log: Logger;
  tokens: RegistryTokens;
  keys: Keys;
  executors: ExecutorSlot[];
  pubsub?: LogPubSub;
  /** Carries the queue's events to other replicas (BUILD_MANAGER.PUBSUB); none with a single server. */
  cluster?: ClusterEvents | null;
  /** Fetches git sources (builds started by triggers); see RunnerDeps.fetchSource. */
  fetchSource?: RunnerDeps['fetchSource'];
  /** Called in the transaction that ends a build; see BuildQueueOptions.onFinished. */
  onFinished?: BuildQueueOptions['onFinished'];
  /** Sets a completed build's tags in the registry; see BuildQueueOptions.tags. */
  tags?: BuildQueueOptions['tags'];
  /** Who a build without a manual user pushes as: a trigger's connected user (triggers/index.ts). */
  pushUser?: (build: Build) => Promise<string | null>;
}

export function createBuildManager(deps: BuildManagerDeps): BuildManager {
  const { config, db } = deps;
  const bm = config.BUILD_MANAGER;
  const site = { host: config.SERVER_HOSTNAME, scheme: config.PREFERRED_URL_SCHEME };
  const queue = createBuildQueue(db, { maxAttempts: bm.MAX_ATTEMPTS, site, onFinished: deps.onFinished, maxQueuedPerNamespace: bm.MAXIMUM_QUEUED_BUILDS_PER_NAMESPACE, tags: deps.tags });
  if (deps.cluster) bridgeQueueEvents(queue.events, deps.cluster);
  const pubsub = deps.pubsub ?? createInProcessLogPubSub();
  const logs = createLogStore(db, pubsub);
  const leaseMs = bm.LEASE_SECONDS * 1000;
  const scheduler = createScheduler({
    queue, logs, log: deps.log.child({ component: 'buildman' }), executors: deps.executors, workerCount: bm.ALLOWED_WORKER_COUNT, leaseMs,
    sweepMs: Math.max(1000, Math.floor(leaseMs / 2)),
    workerId: bm.WORKER_ID ?? `${os.hostname()}:${config.PORT}`,
    registry: { host: config.SERVER_HOSTNAME, insecure: config.PREFERRED_URL_SCHEME === 'http' },
    fetchSource: deps.fetchSource,
    async pushCredentials(build) {
      // A registry token for this one repository, in the name of whoever started the build.
      const userName = build.manualUser ?? (await deps.pushUser?.(build)) ?? null;
      const user = userName ? await findAccount(db, userName) : null;
      if (!user) throw new Error(`the build's user ${userName ?? '(the trigger has no connected user)'} no longer exists`);
      const name = `${build.namespace}/${build.repository}`;
      const { token } = await deps.tokens.issue({ kind: 'user', account: user }, [{ type: 'repository', name, actions: ['pull', 'push'] }]);
      return { username: user.name, password: token };
    },
    async pullCredentials(build) {
      // Private base images in this registry are pulled as the pull robot.
      if (!build.pullRobot) return undefined;
      const robot = await findAccount(db, build.pullRobot);
      if (!robot || robot.kind !== 'robot') throw new Error(`the pull robot ${build.pullRobot} no longer exists`);
      return { username: robot.name, password: await robotToken(db, deps.keys, robot.id) };
    },
  });
  const apiModule: ApiModule = async (app, apiDeps) => {
    registerRepositoryEndpoints(buildEndpoints({ queue, logs, dataDir: config.DATA_DIR }));
    // Uploads reach the repository router (this scope) as multipart/form-data.
    await app.register(multipart, { limits: { fileSize: MAX_CONTEXT_BYTES, files: 1 } });
    await buildStreamRoutes(app, apiDeps, logs, pubsub);
  };
  return { queue, logs, pubsub, scheduler, apiModule };
}

/** EXECUTORS entries' MINIMUM_RETRY_THRESHOLD, paired with the executors built from them. */
export function executorSlots(executors: Executor[], entries: readonly Record<string, unknown>[]): ExecutorSlot[] {
  return executors.map((executor, i) => ({ executor, minimumRetryThreshold: Number(entries[i]?.MINIMUM_RETRY_THRESHOLD ?? 0) }));
}
