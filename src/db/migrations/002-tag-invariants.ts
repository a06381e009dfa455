import type { Knex } from 'knex';

function isPostgres(db: Knex): boolean {
  return (db.client as { dialect?: string }).dialect === 'postgresql';
}

export async function up(db: Knex): Promise<void> {
  // At most one open row per tag: two pushes racing to move the same tag cannot both win.
  await db.raw('CREATE UNIQUE INDEX tags_one_open_per_name ON tags (repository_id, name) WHERE lifetime_end IS NULL');
  // The tag list is sorted bytewise (as the reference registry does), whatever the database locale;
  // SQLite compares bytewise already.
  if (isPostgres(db)) await db.raw('ALTER TABLE tags ALTER COLUMN name TYPE varchar(255) COLLATE "C"');
}

export async function down(db: Knex): Promise<void> {
  if (isPostgres(db)) await db.raw('ALTER TABLE tags ALTER COLUMN name TYPE varchar(255) COLLATE "default"');
  await db.raw('DROP INDEX IF EXISTS tags_one_open_per_name');
}
