import type { Knex } from 'knex';

// Labels on manifests (Quay's `Label`/`ManifestLabel`): `manifest` labels come from the image
// config at push and are read-only; `api` labels are added and removed through the REST API.
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('manifest_labels', (t) => {
    t.increments('id');
    t.string('uuid', 36).notNullable().unique(); // what the API calls the label's id
    // A collected or deleted manifest takes its labels with it.
    t.integer('manifest_id').notNullable().references('manifests.id').onDelete('CASCADE');
    t.string('key', 255).notNullable();
    t.text('value').notNullable();
    t.string('media_type', 32).notNullable(); // text/plain | application/json
    t.string('source_type', 16).notNullable(); // manifest | api
    t.bigInteger('created_at').notNullable();
    t.index(['manifest_id', 'key']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('manifest_labels');
}
