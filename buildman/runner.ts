// Runs one claimed build to its end: prepares the executor job, drives the Executor while
// renewing the lease, stores its phases and log lines, and records the outcome in the queue.
import type { Executor, ExecutorJob, ExecutorOutcome, ExecutorPhase, RegistryCredentials } from '../executors/executor.js';
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { BuildSourceError, stagingTag, type Build } from './build-model.js';
import type { BuildQueue, Claim } from './queue.js';
import type { LogStore } from './log-store.js';

export interface RunnerDeps {
  queue: BuildQueue;
  logs: LogStore;
  log: Logger;
  workerId: string;
  leaseMs: number;
  registry: { host: string; insecure: boolean };
  /** A short-lived credential that may push to the build's repository only. */
  pushCredentials(build: Build): Promise<RegistryCredentials>;
  pullCredentials?(build: Build): Promise<RegistryCredentials | undefined>;
  /**
   * Fetches a `git` source into a context tar on local disk and returns its path (removed by the
   * runner when the run ends). Throws BuildSourceError when the source itself is at fault (unknown
   * commit, no Dockerfile): the build ends `error`; any other error is an internal error.
   */
  fetchSource?(build: Build, signal: AbortSignal): Promise<string>;
}

/** Runs `claim` on `executor`; `signal` aborts it (cancel, shutdown). Never rejects. */
export async function runBuild(deps: RunnerDeps, claim: Claim, executor: Executor, signal: AbortSignal): Promise<void> {
  const { build } = claim;
  const uuid = build.uuid;
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal.addEventListener('abort', abort, { once: true });
  // The lease is renewed well before it lapses; losing it (cancelled, or requeued as lapsed) stops the build.
  let leaseLost = false;
  const renew = setInterval(() => {
    deps.queue.renewLease(uuid, deps.workerId, deps.leaseMs).then(
      (held) => {
        if (!held && !leaseLost) {
          leaseLost = true;
          controller.abort();
        }
      },
      (err: unknown) => deps.log.warn({ err, build: uuid }, 'renewing the build lease failed'),
    );
  }, Math.max(50, Math.floor(deps.leaseMs / 3)));

  const attempt = claim.attempts + 1;
  let lastLine: string | null = null;
  let outcome: ExecutorOutcome;
  let fetched: string | null = null;
  try {
    await deps.logs.append(uuid, { type: 'phase', message: 'build-scheduled', data: { attempt, max_attempts: claim.maxAttempts, executor: executor.name } });
    const job = await jobFor(deps, build, controller.signal);
    fetched = build.source.kind === 'git' ? job.contextTar : null;
    const phases: Promise<unknown>[] = [];
    outcome = await executor.run(
      job,
      {
        phase(phase: ExecutorPhase) {
          phases.push(
            deps.queue.setPhase(uuid, deps.workerId, phase).then((held) => {
              if (!held && !leaseLost) {
                leaseLost = true;
                controller.abort();
              }
            }),
            deps.logs.append(uuid, { type: 'phase', message: phase, data: {} }),
          );
        },
        log(line) {
          lastLine = line.message;
          phases.push(deps.logs.append(uuid, line));
        },
      },
      controller.signal,
    );
    await Promise.allSettled(phases);
  } catch (err) {
    if (err instanceof BuildSourceError) {
      outcome = { status: 'error', message: err.message };
    } else {
      // A programming error in the executor or in preparing the job: the executor's fault, not the build's.
      deps.log.error({ err, build: uuid }, 'the executor failed');
      outcome = { status: 'internalerror', message: (err as Error).message || String(err) };
    }
  } finally {
    clearInterval(renew);
    signal.removeEventListener('abort', abort);
    if (fetched) await rm(fetched, { force: true }).catch(() => undefined);
  }
  await settle(deps, build, outcome, leaseLost || controller.signal.aborted, lastLine);
}

async function jobFor(deps: RunnerDeps, build: Build, signal: AbortSignal): Promise<ExecutorJob> {
  let contextTar: string;
  if (build.source.kind === 'archive') contextTar = build.source.path;
  else if (build.source.kind === 'git' && deps.fetchSource) contextTar = await deps.fetchSource(build, signal);
  else throw new Error(`source kind ${build.source.kind} is not supported by this server`);
  return {
    buildId: build.uuid,
    contextTar,
    dockerfilePath: build.dockerfilePath,
    registry: deps.registry,
    repository: `${build.namespace}/${build.repository}`,
    // The build's tags are set from the staging tag when it completes (see stagingTag).
    tags: [stagingTag(build.uuid)],
    buildArgs: build.buildArgs,
    pushCredentials: await deps.pushCredentials(build),
    pullCredentials: deps.pullCredentials ? await deps.pullCredentials(build) : undefined,
    cacheFrom: build.tags.map((t) => `${deps.registry.host}/${build.namespace}/${build.repository}:${t}`),
  };
}

/**
 * Records the outcome. `stopped`: the build was cancelled, its lease went elsewhere, or the server
 * is shutting down; then the row is not this run's to settle (cancel already wrote `cancelled`; a
 * lease kept through shutdown lapses and the build is retried after restart).
 */
async function settle(deps: RunnerDeps, build: Build, outcome: ExecutorOutcome, stopped: boolean, lastLine: string | null): Promise<void> {
  const uuid = build.uuid;
  const { queue, logs, workerId } = deps;
  try {
    if (stopped) {
      // Shutdown: hand the build back without using up an attempt (a no-op after cancel or a lost lease).
      if (await queue.release(uuid, workerId)) await logs.append(uuid, { type: 'phase', message: 'waiting', data: { reason: 'the server stopped' } });
      // A cancel ended the staging tag when it committed; a push that was in flight may have set it since.
      else await queue.resettleTags(uuid);
      return;
    }
    if (outcome.status === 'cancelled') outcome = { status: 'internalerror', message: 'the executor stopped the build unasked' };
    if (outcome.status === 'complete') {
      const { imageId, manifestDigests } = outcome;
      let completed: boolean;
      try {
        completed = await queue.complete(uuid, workerId, { imageId, manifestDigests });
      } catch (err) {
        // Setting the tags failed (the pushed manifest is not in the registry): the run failed.
        deps.log.error({ err, build: uuid }, 'completing the build failed');
        outcome = { status: 'internalerror', message: `setting the tags failed: ${(err as Error).message}` };
        completed = false;
      }
      if (completed) {
        await logs.append(uuid, { type: 'plain', message: `tagged ${build.tags.join(', ')}`, data: { tags: build.tags, manifest_digest: manifestDigests[0] } });
        await logs.append(uuid, { type: 'phase', message: 'complete', data: { image_id: imageId, manifest_digests: manifestDigests } });
        logs.end(uuid, 'complete');
        await removeContext(build);
      }
      if (outcome.status === 'complete') return;
    }
    // The executor usually logged the failure itself; the log shows it once.
    if (lastLine !== outcome.message) await logs.append(uuid, { type: 'error', message: outcome.message });
    const result = await queue.fail(uuid, workerId, outcome.status, outcome.message);
    if (result?.final) {
      await logs.append(uuid, { type: 'phase', message: result.phase, data: {} });
      logs.end(uuid, result.phase);
      await removeContext(build);
    } else if (result) {
      await logs.append(uuid, { type: 'phase', message: 'waiting', data: { retry: result.attempts } });
    }
  } catch (err) {
    // The lease will lapse and the sweep retries the build.
    deps.log.error({ err, build: uuid }, 'recording the build outcome failed');
  }
}

/** An ended build's context tar is not needed again (retries reuse it until then). */
export async function removeContext(build: Build): Promise<void> {
  if (build.source.kind === 'archive' && build.source.path) await rm(build.source.path, { force: true });
}
