import type { Knex } from 'knex';

// Web sessions of /api/v1 (POST /api/v1/signin). The id is the SHA-256 of the cookie's random
// value, so a database dump signs nobody in; rows go with their user (ON DELETE CASCADE), and being
// in the shared database, a session works on every replica and ends on all of them at once.
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('sessions', (t) => {
    t.string('id', 64).primary();
    t.integer('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('csrf_token', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('last_used_at').notNullable();
    t.index(['account_id']);
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('sessions');
}
