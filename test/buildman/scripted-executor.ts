// A test-only Executor that replays a script of phases and log lines, then returns an outcome.
// It stands in for Podman in the manager's unit tests; it honours the AbortSignal like a real one.
import type { Executor, ExecutorEvents, ExecutorJob, ExecutorLogLine, ExecutorOutcome, ExecutorPhase } from '../../executors/executor.js';

export type ScriptStep = { phase: ExecutorPhase } | { log: ExecutorLogLine } | { wait: number } | { hang: true };

export interface Script {
  steps: ScriptStep[];
  outcome: ExecutorOutcome;
}

export class ScriptedExecutor implements Executor {
  readonly name: string;
  /** Every job started, in order. */
  readonly started: ExecutorJob[] = [];
  running = 0;
  maxRunning = 0;

  constructor(private readonly scriptFor: (job: ExecutorJob, n: number) => Script, name = 'scripted') {
    this.name = name;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async run(job: ExecutorJob, events: ExecutorEvents, signal: AbortSignal): Promise<ExecutorOutcome> {
    const script = this.scriptFor(job, this.started.length);
    this.started.push(job);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      for (const step of script.steps) {
        if (signal.aborted) return { status: 'cancelled' };
        if ('phase' in step) events.phase(step.phase);
        else if ('log' in step) events.log(step.log);
        else if ('wait' in step || 'hang' in step) {
          const ms = 'wait' in step ? step.wait : 1e9;
          const aborted = await new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(false), ms);
            signal.addEventListener('abort', () => { clearTimeout(t); resolve(true); }, { once: true });
          });
          if (aborted) return { status: 'cancelled' };
        }
      }
      return signal.aborted ? { status: 'cancelled' } : script.outcome;
    } finally {
      this.running--;
    }
  }
}

export const OK: ExecutorOutcome = { status: 'complete', imageId: 'sha256:' + 'a'.repeat(64), manifestDigests: ['sha256:' + 'b'.repeat(64)] };

/** A build that goes through every phase, logs a Podman and a Docker step line, and completes. */
export function happyScript(): Script {
  return {
    steps: [
      { phase: 'unpacking' }, { phase: 'pulling' }, { phase: 'building' },
      { log: { type: 'plain', message: 'STEP 1/2: FROM alpine' } },
      { log: { type: 'plain', message: 'Step 2/2 : RUN echo hi' } },
      { log: { type: 'plain', message: 'hi' } },
      { phase: 'pushing' },
    ],
    outcome: OK,
  };
}
