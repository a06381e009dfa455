import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // Quay's PermissionPrototype: what a new repository in the org grants, and to whom.
  await db.schema.createTable('permission_prototypes', (t) => {
    t.increments('id');
    t.string('uuid', 36).notNullable().unique();
    t.integer('org_id').notNullable().references('accounts.id').onDelete('CASCADE');
    // Null: applies whoever creates the repository.
    t.integer('activating_account_id').references('accounts.id').onDelete('CASCADE');
    // Exactly one of the two delegates is set.
    t.integer('delegate_account_id').references('accounts.id').onDelete('CASCADE');
    t.integer('delegate_team_id').references('teams.id').onDelete('CASCADE');
    t.string('role', 8).notNullable(); // read | write | admin
    t.bigInteger('created_at').notNullable();
    t.index(['org_id']);
  });
  // One prototype per (activating user, delegate): NULLs never collide in a plain unique index,
  // so they are folded to 0, which no account or team id takes.
  await db.raw(
    `CREATE UNIQUE INDEX permission_prototypes_one_per_pair ON permission_prototypes
       (org_id, COALESCE(activating_account_id, 0), COALESCE(delegate_account_id, 0), COALESCE(delegate_team_id, 0))`,
  );
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('permission_prototypes');
}
