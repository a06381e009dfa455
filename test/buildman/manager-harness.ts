// Queue + log store + scheduler on a test database, driving a ScriptedExecutor.
import { createBuildQueue, type BuildQueue, type BuildRequest, type BuildTagPublisher } from '../../buildman/queue.js';
import { createLogStore, type LogStore } from '../../buildman/log-store.js';
import { createInProcessLogPubSub, type LogPubSub } from '../../buildman/log-pubsub.js';
import { createScheduler, type Scheduler } from '../../buildman/scheduler.js';
import { findBuild, isFinal, type Build } from '../../buildman/build-model.js';
import type { Db } from '../../src/db/index.js';
import type { Executor } from '../../executors/executor.js';
import { openTestDb, silentLog, type TestDb } from './test-db.js';
import { waitFor } from '../support/wait.js';

export interface Manager {
  queue: BuildQueue;
  logs: LogStore;
  pubsub: LogPubSub;
  scheduler: Scheduler;
}

export interface ManagerOptions {
  workerCount?: number;
  maxAttempts?: number;
  leaseMs?: number;
  workerId?: string;
  tags?: BuildTagPublisher;
}

export function createManager(db: Db, executor: Executor, opts: ManagerOptions = {}): Manager {
  const site = { host: '127.0.0.1:8080', scheme: 'http' as const };
  const queue = createBuildQueue(db, { maxAttempts: opts.maxAttempts ?? 3, retryDelayMs: 0, site, tags: opts.tags });
  const pubsub = createInProcessLogPubSub();
  const logs = createLogStore(db, pubsub);
  const scheduler = createScheduler({
    queue, logs, log: silentLog, executors: [{ executor, minimumRetryThreshold: 0 }], workerCount: opts.workerCount ?? 2,
    leaseMs: opts.leaseMs ?? 5000, sweepMs: 200, workerId: opts.workerId ?? 'test-worker', registry: { host: site.host, insecure: true },
    pushCredentials: async (b) => ({ username: 'alice', password: `token-for-${b.namespace}/${b.repository}` }),
  });
  return { queue, logs, pubsub, scheduler };
}

export function buildRequest(repositoryId: number, over: Partial<BuildRequest> = {}): BuildRequest {
  return {
    repositoryId, tags: ['latest'], displayName: 'upload', source: { kind: 'archive', path: '/tmp/context.tar' }, manualUser: 'alice',
    dockerfilePath: 'Dockerfile', context: '', ...over,
  };
}

export { waitFor };

export function waitFinal(db: Db, uuid: string, ms?: number): Promise<Build> {
  return waitFor(`build ${uuid} to end`, async () => {
    const b = await findBuild(db, uuid);
    return b && isFinal(b.phase) ? b : null;
  }, ms);
}

export function waitPhase(db: Db, uuid: string, phase: string): Promise<Build> {
  return waitFor(`build ${uuid} to reach ${phase}`, async () => {
    const b = await findBuild(db, uuid);
    return b?.phase === phase ? b : null;
  });
}

/** A fresh test database per test (`t`), and the manager a test makes on it (`m`), stopped after the test. */
export function useManagerFixture(): { t: TestDb; m: Manager | null } {
  const fx = { t: null as unknown as TestDb, m: null as Manager | null };
  beforeEach(async () => {
    fx.t = await openTestDb();
    fx.m = null;
  });
  afterEach(async () => {
    await fx.m?.scheduler.stop();
    await fx.t.close();
  });
  return fx;
}
