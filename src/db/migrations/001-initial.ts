import type { Knex } from 'knex';

// Times are integer milliseconds since the epoch (BIGINT) on every engine.
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('accounts', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable().unique();
    t.string('kind', 8).notNullable(); // user | org | robot
    t.string('email', 255);
    t.string('password_hash', 255);
    t.text('token_enc'); // robots: the token, encrypted with SECRET_KEY
    t.integer('parent_id').references('accounts.id').onDelete('CASCADE'); // a robot's namespace
    t.boolean('superuser').notNullable().defaultTo(false);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.text('description').notNullable().defaultTo('');
    t.bigInteger('tag_expiration_s').notNullable().defaultTo(1209600);
    t.bigInteger('created_at').notNullable();
    t.index(['parent_id']);
  });

  await db.schema.createTable('teams', (t) => {
    t.increments('id');
    t.integer('org_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('name', 255).notNullable();
    t.string('role', 8).notNullable(); // member | creator | admin
    t.text('description').notNullable().defaultTo('');
    t.unique(['org_id', 'name']);
  });

  await db.schema.createTable('team_members', (t) => {
    t.integer('team_id').notNullable().references('teams.id').onDelete('CASCADE');
    t.integer('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.primary(['team_id', 'account_id']);
    t.index(['account_id']);
  });

  await db.schema.createTable('repositories', (t) => {
    t.increments('id');
    t.integer('namespace_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('name', 255).notNullable();
    t.string('visibility', 8).notNullable(); // public | private
    t.string('state', 16).notNullable().defaultTo('NORMAL'); // NORMAL | READ_ONLY | MIRROR
    t.string('kind', 16).notNullable().defaultTo('image');
    t.text('description').notNullable().defaultTo('');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.unique(['namespace_id', 'name']);
  });

  await db.schema.createTable('repo_permissions', (t) => {
    t.increments('id');
    t.integer('repository_id').notNullable().references('repositories.id').onDelete('CASCADE');
    t.integer('account_id').references('accounts.id').onDelete('CASCADE');
    t.integer('team_id').references('teams.id').onDelete('CASCADE');
    t.string('role', 8).notNullable(); // read | write | admin
    t.unique(['repository_id', 'account_id']);
    t.unique(['repository_id', 'team_id']);
    t.index(['account_id']);
  });

  // Content-addressed blobs, global; a repository sees a blob only through repo_blobs.
  await db.schema.createTable('blobs', (t) => {
    t.string('digest', 160).primary();
    t.bigInteger('size').notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await db.schema.createTable('repo_blobs', (t) => {
    t.integer('repository_id').notNullable().references('repositories.id').onDelete('CASCADE');
    t.string('digest', 160).notNullable().references('blobs.digest');
    t.bigInteger('created_at').notNullable();
    t.primary(['repository_id', 'digest']);
    t.index(['digest']);
  });

  await db.schema.createTable('uploads', (t) => {
    t.string('id', 64).primary();
    t.integer('repository_id').notNullable().references('repositories.id').onDelete('CASCADE');
    t.bigInteger('size').notNullable().defaultTo(0);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['repository_id']);
  });

  await db.schema.createTable('manifests', (t) => {
    t.increments('id');
    t.integer('repository_id').notNullable().references('repositories.id').onDelete('CASCADE');
    t.string('digest', 160).notNullable();
    t.string('media_type', 255).notNullable();
    t.string('artifact_type', 255);
    t.string('config_digest', 160);
    t.string('subject_digest', 160);
    t.bigInteger('size').notNullable();
    t.binary('content').notNullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['repository_id', 'digest']);
    t.index(['repository_id', 'subject_digest']);
  });

  await db.schema.createTable('manifest_blobs', (t) => {
    t.integer('manifest_id').notNullable().references('manifests.id').onDelete('CASCADE');
    t.string('digest', 160).notNullable();
    t.primary(['manifest_id', 'digest']);
    t.index(['digest']);
  });

  await db.schema.createTable('manifest_children', (t) => {
    t.integer('manifest_id').notNullable().references('manifests.id').onDelete('CASCADE');
    t.string('child_digest', 160).notNullable();
    t.primary(['manifest_id', 'child_digest']);
    t.index(['child_digest']);
  });

  // A moved or deleted tag keeps its row (lifetime_end set): the table is the tag history.
  await db.schema.createTable('tags', (t) => {
    t.increments('id');
    t.integer('repository_id').notNullable().references('repositories.id').onDelete('CASCADE');
    t.string('name', 255).notNullable();
    t.string('manifest_digest', 160).notNullable();
    t.bigInteger('lifetime_start').notNullable();
    t.bigInteger('lifetime_end');
    t.boolean('hidden').notNullable().defaultTo(false);
    t.boolean('reversion').notNullable().defaultTo(false);
    t.index(['repository_id', 'name', 'lifetime_end']);
    t.index(['repository_id', 'manifest_digest']);
  });
}

export async function down(db: Knex): Promise<void> {
  for (const table of [
    'tags', 'manifest_children', 'manifest_blobs', 'manifests', 'uploads', 'repo_blobs', 'blobs',
    'repo_permissions', 'repositories', 'team_members', 'teams', 'accounts',
  ]) {
    await db.schema.dropTableIfExists(table);
  }
}
