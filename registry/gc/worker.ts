// The background collector of `slipway serve`: one pass every GC_INTERVAL_SECONDS, never two at
// once in this process (other replicas may run theirs; collector.ts is safe with that).
import type { Logger } from 'pino';
import { collectGarbage, type GcDeps } from './collector.js';

export interface GcWorker {
  /** Waits for a pass in progress to end. */
  stop(): Promise<void>;
}

export function startGcWorker(deps: GcDeps, intervalSeconds: number, log: Logger): GcWorker {
  let running: Promise<void> | null = null;
  let stopped = false;
  const pass = async () => {
    try {
      const summary = await collectGarbage(deps);
      if (summary.tags || summary.manifests || summary.links || summary.blobs || summary.uploads || summary.orphans) {
        log.info({ gc: summary }, 'garbage collection pass');
      }
    } catch (err) {
      // The next pass starts over; a pass stopped half-way leaves nothing inconsistent.
      log.error({ err }, 'garbage collection pass failed');
    }
  };
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = pass().finally(() => (running = null));
  }, intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
