// Builds the executors named in config.yaml's EXECUTORS list.
import { z } from 'zod';
import type { Executor } from './executor.js';
import { podmanExecutorConfigSchema } from './podman/config.js';
import { createPodmanExecutor } from './podman/podman-executor.js';

export type { Executor } from './executor.js';
export { createPodmanExecutor } from './podman/podman-executor.js';

/** One EXECUTORS entry as config.yaml has it; each kind checks its own keys. */
export const executorConfigSchema = z.looseObject({ EXECUTOR: z.string().min(1) });
export type ExecutorConfig = z.input<typeof executorConfigSchema> & Record<string, unknown>;

/** The settings every executor kind has (Quay's common executor settings). */
export interface ExecutorSettings {
  /** SETUP_TIME: seconds a build may take to start on this executor before the manager gives up. */
  setupTimeS: number;
  /** MINIMUM_RETRY_THRESHOLD: run here only while the build has at least this many retries left. */
  minimumRetryThreshold: number;
  debug: boolean;
}

/** An executor with the settings config.yaml gave it (it is an `Executor` for everything else). */
export interface ConfiguredExecutor extends Executor {
  readonly settings: ExecutorSettings;
}

export function createExecutors(configList: readonly ExecutorConfig[]): ConfiguredExecutor[] {
  const names = new Set<string>();
  return configList.map((entry, i) => {
    const where = `EXECUTORS[${i}]`;
    let executor: ConfiguredExecutor;
    switch (entry.EXECUTOR) {
      case 'podman': {
        const parsed = podmanExecutorConfigSchema.safeParse(entry);
        if (!parsed.success) {
          throw new Error(`${where}: ${parsed.error.issues.map((iss) => `${iss.path.join('.') || '(entry)'}: ${iss.message}`).join('; ')}`);
        }
        executor = {
          ...createPodmanExecutor({ name: parsed.data.NAME, podmanHost: parsed.data.PODMAN_HOST, debug: parsed.data.DEBUG }),
          settings: { setupTimeS: parsed.data.SETUP_TIME, minimumRetryThreshold: parsed.data.MINIMUM_RETRY_THRESHOLD, debug: parsed.data.DEBUG },
        };
        break;
      }
      case 'kubernetes':
      case 'kubernetesPodman':
        throw new Error(`${where}: the ${entry.EXECUTOR} executor is not available yet; use EXECUTOR: podman`);
      default:
        throw new Error(`${where}: unknown EXECUTOR ${JSON.stringify(entry.EXECUTOR)} (known: podman)`);
    }
    if (names.has(executor.name)) throw new Error(`${where}: two executors are named ${executor.name}`);
    names.add(executor.name);
    return executor;
  });
}
