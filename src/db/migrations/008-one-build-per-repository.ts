import type { Knex } from 'knex';

// One running build per repository, as Quay runs them: two builds of one repository racing to
// push the same tags would leave whichever finished last. The queue row learns its repository,
// and a partial unique index lets at most one row per repository hold a lease, so two replicas
// claiming at once cannot both win (the loser's claim fails and it claims another build).
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('build_queue', (t) => {
    t.integer('repository_id').references('repositories.id').onDelete('CASCADE');
  });
  await db.raw('UPDATE build_queue SET repository_id = (SELECT repository_id FROM builds WHERE builds.uuid = build_queue.build_uuid)');
  await db.raw('CREATE UNIQUE INDEX build_queue_one_running_per_repository ON build_queue (repository_id) WHERE lease_owner IS NOT NULL');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP INDEX IF EXISTS build_queue_one_running_per_repository');
  await db.schema.alterTable('build_queue', (t) => {
    t.dropColumn('repository_id');
  });
}
