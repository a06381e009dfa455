// Webhook deliveries that started a build, so that a redelivery (GitHub's "Redeliver", a retry
// after a timeout, two replicas receiving the same request) never builds twice. The delivery row
// is written in the transaction that enqueues its build: both land or neither does, and the
// unique key on (trigger, delivery) makes the second of two racing copies fail and roll back.
import type { Queryable } from '../src/db/index.js';

/** GitHub redelivers up to three days back; a week of delivery ids covers that with room to spare. */
export const KEEP_DELIVERIES_MS = 7 * 24 * 3600_000;

/** Records that the delivery started the build; throws a unique violation when it already had one. */
export async function recordDelivery(db: Queryable, triggerUuid: string, deliveryId: string, buildUuid: string, now = Date.now()): Promise<void> {
  await db('build_trigger_deliveries').insert({ trigger_uuid: triggerUuid, delivery_id: deliveryId, build_uuid: buildUuid, received_at: now });
  // Pruned as deliveries arrive, so that the table holds about a week of each trigger's pushes.
  await db('build_trigger_deliveries').where({ trigger_uuid: triggerUuid }).where('received_at', '<', now - KEEP_DELIVERIES_MS).delete();
}

/** The build a delivery started, if it was received before. */
export async function deliveredBuild(db: Queryable, triggerUuid: string, deliveryId: string): Promise<string | null | undefined> {
  const row = await db('build_trigger_deliveries').where({ trigger_uuid: triggerUuid, delivery_id: deliveryId }).first('build_uuid');
  return row ? ((row.build_uuid as string | null) ?? null) : undefined;
}
