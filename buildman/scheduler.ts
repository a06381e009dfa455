// Runs at most `workerCount` builds at once in this process. Dispatch is event-driven: the queue
// wakes it when a build becomes available and a finishing build wakes it when a slot frees; a
// slow timer only sweeps lapsed leases (workers on other replicas that died).
import type { Logger } from 'pino';
import type { Executor } from '../executors/executor.js';
import type { BuildQueue, Claim } from './queue.js';
import type { LogStore } from './log-store.js';
import { removeContext, runBuild, type RunnerDeps } from './runner.js';
import { findBuild } from './build-model.js';

export interface ExecutorSlot {
  executor: Executor;
  /** Used only while at least this many attempts remain (Quay's MINIMUM_RETRY_THRESHOLD). */
  minimumRetryThreshold: number;
}

export interface SchedulerOptions extends Omit<RunnerDeps, 'queue' | 'logs' | 'log'> {
  queue: BuildQueue;
  logs: LogStore;
  log: Logger;
  executors: ExecutorSlot[];
  workerCount: number;
  /** How often lapsed leases are swept. */
  sweepMs: number;
}

export interface Scheduler {
  /** Requeues what this worker id held before a restart, sweeps lapsed leases, and starts dispatching. */
  start(): Promise<void>;
  /** Stops dispatching and aborts running builds; their leases lapse and they are retried after restart. */
  stop(): Promise<void>;
  running(): number;
}

/** The executor for a claim: the first whose retry threshold the remaining attempts meet, else the first. */
export function chooseExecutor(slots: ExecutorSlot[], claim: Claim): Executor {
  const remaining = claim.maxAttempts - claim.attempts;
  return (slots.find((s) => s.minimumRetryThreshold <= remaining) ?? slots[0]!).executor;
}

export function createScheduler(opts: SchedulerOptions): Scheduler {
  const { queue, log } = opts;
  if (opts.executors.length === 0) throw new Error('the build scheduler needs at least one executor');
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let stopped = true;
  let pumping = false;
  let again = false;
  let sweepTimer: NodeJS.Timeout | null = null;

  async function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        while (!stopped && running.size < opts.workerCount) {
          const claim = await queue.claimNext(opts.workerId, opts.leaseMs);
          if (!claim) break;
          launch(claim);
        }
      } while (again && !stopped);
    } catch (err) {
      log.error({ err }, 'claiming a build failed');
    } finally {
      pumping = false;
    }
  }
  const wake = () => void pump();

  function launch(claim: Claim): void {
    const controller = new AbortController();
    const executor = chooseExecutor(opts.executors, claim);
    log.info({ build: claim.build.uuid, executor: executor.name, attempt: claim.attempts + 1 }, 'build started');
    const done = runBuild(opts, claim, executor, controller.signal).finally(() => {
      running.delete(claim.build.uuid);
      wake();
    });
    running.set(claim.build.uuid, { controller, done });
  }

  function onCancelled(uuid: string): void {
    const run = running.get(uuid);
    run?.controller.abort();
    opts.logs.end(uuid, 'cancelled');
    // The context goes once nothing here reads it any more.
    void (run?.done ?? Promise.resolve())
      .then(() => findBuild(opts.queue.db, uuid))
      .then((b) => (b ? removeContext(b) : undefined))
      .catch((err: unknown) => log.warn({ err, build: uuid }, 'removing a cancelled build\'s context failed'));
  }

  /** The queue ended a build whose worker died on its last attempt: its log and watchers get the end here. */
  function onEnded(uuid: string, phase: string): void {
    void opts.logs.append(uuid, { type: 'phase', message: phase, data: {} })
      .then(() => opts.logs.end(uuid, phase))
      .then(() => findBuild(opts.queue.db, uuid))
      .then((b) => (b ? removeContext(b) : undefined))
      .catch((err: unknown) => log.warn({ err, build: uuid }, 'ending a build whose worker died failed'));
  }

  async function sweep(): Promise<void> {
    try {
      await queue.requeueExpired();
      // Also a safety net: whatever became claimable without an event (another replica's retry delay) is picked up here.
      // Awaited, so start() returns only once this replica has looked at the queue (tests rely on it).
      await pump();
    } catch (err) {
      log.warn({ err }, 'sweeping lapsed build leases failed');
    }
  }

  return {
    async start() {
      if (!stopped) return;
      stopped = false;
      queue.events.on('available', wake);
      queue.events.on('cancelled', onCancelled);
      queue.events.on('ended', onEnded);
      const released = await queue.releaseOwner(opts.workerId);
      if (released > 0) log.warn({ builds: released }, 'builds this worker ran before a restart are retried');
      await sweep();
      sweepTimer = setInterval(() => void sweep(), opts.sweepMs);
      sweepTimer.unref();
      await pump();
    },
    async stop() {
      stopped = true;
      queue.events.off('available', wake);
      queue.events.off('cancelled', onCancelled);
      queue.events.off('ended', onEnded);
      if (sweepTimer) clearInterval(sweepTimer);
      for (const r of running.values()) r.controller.abort();
      await Promise.allSettled([...running.values()].map((r) => r.done));
    },
    running: () => running.size,
  };
}
