import type { Knex } from 'knex';

// OAuth applications of organizations, the authorization codes of the code flow, and access
// tokens (from that flow or minted directly). Client secrets are encrypted so that admins can be
// shown them again; codes and tokens are stored only as SHA-256 hashes behind a short lookup
// prefix, so a database dump yields nothing usable.
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('oauth_applications', (t) => {
    t.increments('id');
    t.integer('org_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('client_id', 20).notNullable().unique();
    t.text('client_secret_enc').notNullable();
    t.string('name', 255).notNullable();
    t.text('description').notNullable().defaultTo('');
    t.string('application_uri', 2048).notNullable().defaultTo('');
    t.string('redirect_uri', 2048).notNullable().defaultTo('');
    t.string('avatar_email', 255);
    t.bigInteger('created_at').notNullable();
    t.index(['org_id']);
  });

  await db.schema.createTable('oauth_authorization_codes', (t) => {
    t.increments('id');
    t.integer('application_id').notNullable().references('oauth_applications.id').onDelete('CASCADE');
    t.integer('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('code_name', 20).notNullable().unique();
    t.string('code_hash', 64).notNullable();
    t.string('scope', 255).notNullable();
    // Null when the authorize request named no redirect_uri; then the token request need not either.
    t.string('redirect_uri', 2048);
    t.bigInteger('expires_at').notNullable();
    // Kept after use so that a replayed code can be recognised and its tokens revoked.
    t.bigInteger('used_at');
    t.bigInteger('created_at').notNullable();
  });

  await db.schema.createTable('oauth_access_tokens', (t) => {
    t.increments('id');
    t.string('uuid', 36).notNullable().unique();
    t.integer('application_id').notNullable().references('oauth_applications.id').onDelete('CASCADE');
    t.integer('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('scope', 255).notNullable();
    t.string('display_name', 255);
    t.string('token_name', 20).notNullable().unique();
    t.string('token_hash', 64).notNullable();
    t.integer('authorization_code_id').references('oauth_authorization_codes.id').onDelete('SET NULL');
    t.bigInteger('expires_at');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_accessed');
    t.index(['application_id']);
    t.index(['authorization_code_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('oauth_access_tokens');
  await db.schema.dropTableIfExists('oauth_authorization_codes');
  await db.schema.dropTableIfExists('oauth_applications');
}
