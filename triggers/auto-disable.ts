// Quay's update_trigger_disable_status, run in the transaction that ends every build: a trigger
// whose builds keep failing is switched off before it fills the queue with more failures. User
// errors and internal errors are counted apart (a flaky executor is not the user's fault), and a
// success resets both.
import type { Tx } from '../src/db/index.js';
import type { Build } from '../buildman/build-model.js';
import type { DisabledReason } from './trigger-store.js';

export interface DisableThresholds {
  /** Successive `error` builds that disable the trigger; 0 never does. */
  failures: number;
  /** Successive `internalerror` builds that disable the trigger; 0 never does. */
  internalErrors: number;
}

const COUNTED = {
  error: { column: 'successive_failure_count', reason: 'successive_build_failures' },
  internalerror: { column: 'successive_internal_error_count', reason: 'successive_build_internal_errors' },
} as const satisfies Record<string, { column: string; reason: DisabledReason }>;

export function countTriggerOutcomes(thresholds: DisableThresholds): (tx: Tx, build: Build) => Promise<void> {
  return async (tx, build) => {
    if (!build.trigger) return;
    const uuid = build.trigger.id;
    if (build.phase === 'complete') {
      await tx('build_triggers').where({ uuid }).update({ successive_failure_count: 0, successive_internal_error_count: 0 });
      return;
    }
    if (build.phase !== 'error' && build.phase !== 'internalerror') return; // a cancelled build says nothing of the trigger
    const { column, reason } = COUNTED[build.phase];
    const threshold = build.phase === 'error' ? thresholds.failures : thresholds.internalErrors;
    // Incremented in SQL: two builds of one trigger may end at once on two replicas.
    await tx('build_triggers').where({ uuid }).increment(column, 1);
    if (threshold <= 0) return;
    await tx('build_triggers').where({ uuid, enabled: true }).where(column, '>=', threshold)
      .update({ enabled: false, disabled_reason: reason, updated_at: Date.now() });
  };
}
