import type { Knex } from 'knex';

// Namespace quotas (Quay's UserOrganizationQuota / QuotaLimits), the quota events notifications
// read, and the two tables through which pushes and the garbage collector agree on a blob's bytes
// (registry/gc/collector.ts explains the protocol).
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('quotas', (t) => {
    t.increments('id');
    // One quota per namespace, as Quay has it.
    t.integer('namespace_id').notNullable().unique().references('accounts.id').onDelete('CASCADE');
    t.bigInteger('limit_bytes').notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await db.schema.createTable('quota_limits', (t) => {
    t.increments('id');
    t.integer('quota_id').notNullable().references('quotas.id').onDelete('CASCADE');
    t.string('type', 8).notNullable(); // Warning | Reject
    t.integer('percent').notNullable();
    t.unique(['quota_id', 'type', 'percent']);
  });

  // quota_warning / quota_error, for notifications to pick up; one row per crossing, cooled down.
  await db.schema.createTable('quota_events', (t) => {
    t.increments('id');
    t.integer('namespace_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('kind', 16).notNullable();
    t.integer('threshold_percent');
    t.bigInteger('usage_bytes').notNullable();
    t.bigInteger('limit_bytes').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['namespace_id', 'kind', 'created_at']);
  });

  // A push about to place a blob's bytes at their content address: the collector leaves them be.
  await db.schema.createTable('blob_claims', (t) => {
    t.string('digest', 160).primary();
    t.bigInteger('claimed_at').notNullable();
  });

  // A blob whose row the collector removed and whose bytes it has still to delete.
  await db.schema.createTable('blob_deletions', (t) => {
    t.string('digest', 160).primary();
    t.bigInteger('size').notNullable();
    t.bigInteger('marked_at').notNullable();
  });

  // The collector looks tags up by end and blobs up by age.
  await db.schema.alterTable('tags', (t) => t.index(['lifetime_end'], 'tags_lifetime_end'));
  await db.schema.alterTable('blobs', (t) => t.index(['created_at'], 'blobs_created_at'));
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('blobs', (t) => t.dropIndex(['created_at'], 'blobs_created_at'));
  await db.schema.alterTable('tags', (t) => t.dropIndex(['lifetime_end'], 'tags_lifetime_end'));
  for (const table of ['blob_deletions', 'blob_claims', 'quota_events', 'quota_limits', 'quotas']) {
    await db.schema.dropTableIfExists(table);
  }
}
