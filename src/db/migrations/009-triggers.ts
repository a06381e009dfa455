import type { Knex } from 'knex';

// Build triggers and the webhook deliveries they received. Times are integer milliseconds (BIGINT).
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('build_triggers', (t) => {
    t.increments('id');
    t.string('uuid', 36).notNullable().unique();
    t.integer('repository_id').notNullable().references('repositories.id').onDelete('CASCADE');
    t.string('service', 32).notNullable(); // github | gitlab | custom-git
    t.text('config').notNullable(); // JSON: build_source, dockerfile_path, context, branchtag_regex, tag templates…
    // Builds push in this user's name (Quay's connected_user): whoever created or activated the trigger.
    t.integer('connected_user_id').references('accounts.id').onDelete('SET NULL');
    t.integer('pull_robot_id').references('accounts.id').onDelete('SET NULL');
    // Set on activation, encrypted with the secret key: they are shown again and used for cloning.
    t.text('secret_enc');
    t.text('private_key_enc');
    t.text('public_key');
    t.boolean('is_active').notNullable().defaultTo(false);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.string('disabled_reason', 64);
    t.integer('successive_failure_count').notNullable().defaultTo(0);
    t.integer('successive_internal_error_count').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['repository_id']);
  });

  // One row per webhook delivery that was let through to a build. The unique key is the dedup: of
  // two replicas receiving the same delivery (a redelivery, a retry), only one inserts and builds.
  await db.schema.createTable('build_trigger_deliveries', (t) => {
    t.bigIncrements('id');
    t.string('trigger_uuid', 36).notNullable().references('build_triggers.uuid').onDelete('CASCADE');
    t.string('delivery_id', 255).notNullable();
    // Null while the build is being enqueued; a claim left null (the server died) may be taken over.
    t.string('build_uuid', 36);
    t.bigInteger('received_at').notNullable();
    t.unique(['trigger_uuid', 'delivery_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('build_trigger_deliveries');
  await db.schema.dropTableIfExists('build_triggers');
}
