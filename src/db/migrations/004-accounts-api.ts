import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('accounts', (t) => {
    // Robots: when their token last logged in (written at most once a minute), and the
    // free-form metadata Quay keeps beside a robot (`unstructured_metadata`, JSON text).
    t.bigInteger('last_accessed');
    t.text('robot_metadata');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('accounts', (t) => {
    t.dropColumn('robot_metadata');
    t.dropColumn('last_accessed');
  });
}
