import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // Usage logs (Quay's LogEntry): names are copied in, so entries outlive renamed or deleted accounts.
  // Indexed only for the reads the API makes (namespace, repository, whole system); every index
  // costs each pull its write.
  await db.schema.createTable('usage_logs', (t) => {
    t.bigIncrements('id');
    t.string('kind', 64).notNullable();
    t.integer('namespace_id');
    t.string('namespace', 255);
    t.integer('repository_id');
    t.string('repository', 255);
    t.integer('performer_id');
    t.string('performer', 255);
    t.string('performer_kind', 16);
    t.string('ip', 64);
    t.text('metadata').notNullable().defaultTo('{}');
    t.bigInteger('created_at').notNullable();
    t.index(['namespace_id', 'created_at']);
    t.index(['repository_id', 'created_at']);
    t.index(['created_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('usage_logs');
}
