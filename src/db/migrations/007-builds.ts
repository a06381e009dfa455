import type { Knex } from 'knex';

// Builds, their durable queue and their logs. Times are integer milliseconds (BIGINT).
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('builds', (t) => {
    t.increments('id');
    t.string('uuid', 36).notNullable().unique();
    t.integer('repository_id').notNullable().references('repositories.id').onDelete('CASCADE');
    // waiting | build-scheduled | unpacking | pulling | building | pushing | complete | error | internalerror | cancelled
    t.string('phase', 16).notNullable();
    t.text('tags').notNullable(); // JSON string[]
    t.string('display_name', 255).notNullable();
    t.text('source').notNullable(); // JSON: { kind: 'archive', path } | { kind: 'archive_url', url } | …
    t.string('trigger_id', 64);
    t.string('trigger_kind', 32);
    t.text('trigger_metadata'); // JSON
    t.string('manual_user', 255);
    t.string('pull_robot', 255);
    t.string('dockerfile_path', 1024).notNullable();
    t.string('context', 1024).notNullable();
    t.text('build_args').notNullable().defaultTo('{}'); // JSON Record<string,string>
    t.text('error');
    t.string('image_id', 128);
    t.text('manifest_digests'); // JSON string[]
    t.bigInteger('started_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('completed_at');
    t.index(['repository_id', 'started_at']);
  });

  // One row per build still to run (or running). `attempts` counts failed runs (internal errors,
  // lapsed leases), never the time spent waiting for a worker slot.
  await db.schema.createTable('build_queue', (t) => {
    t.string('build_uuid', 36).primary().references('builds.uuid').onDelete('CASCADE');
    t.bigInteger('enqueued_at').notNullable();
    t.bigInteger('available_after').notNullable();
    t.string('lease_owner', 255);
    t.bigInteger('lease_expires');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('max_attempts').notNullable();
    t.index(['lease_owner', 'available_after']);
  });

  await db.schema.createTable('build_logs', (t) => {
    t.bigIncrements('id');
    t.string('build_uuid', 36).notNullable().references('builds.uuid').onDelete('CASCADE');
    t.integer('seq').notNullable();
    t.string('type', 8).notNullable(); // phase | command | error | plain
    t.text('message').notNullable();
    t.text('data'); // JSON
    t.bigInteger('created_at').notNullable();
    t.unique(['build_uuid', 'seq']);
  });

  // Build notification events (build_queued, build_start, …) with their Quay payloads; delivery comes later.
  await db.schema.createTable('build_events', (t) => {
    t.bigIncrements('id');
    t.string('build_uuid', 36).notNullable().references('builds.uuid').onDelete('CASCADE');
    t.string('kind', 32).notNullable();
    t.text('payload').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['build_uuid']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('build_events');
  await db.schema.dropTableIfExists('build_logs');
  await db.schema.dropTableIfExists('build_queue');
  await db.schema.dropTableIfExists('builds');
}
