import type { Knex } from 'knex';
import * as initial from './001-initial.js';
import * as tagInvariants from './002-tag-invariants.js';
import * as usageLogs from './003-usage-logs.js';
import * as accountsApi from './004-accounts-api.js';
import * as prototypes from './005-prototypes.js';
import * as oauth from './006-oauth.js';
import * as builds from './007-builds.js';
import * as oneBuildPerRepository from './008-one-build-per-repository.js';
import * as triggers from './009-triggers.js';
import * as manifestLabels from './010-manifest-labels.js';
import * as quotas from './011-quotas.js';
import * as sessions from './012-sessions.js';

interface Migration {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

// Listed here rather than read from a folder, so the compiled build and tests see the same set.
const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-tag-invariants': tagInvariants,
  '003-usage-logs': usageLogs,
  '004-accounts-api': accountsApi,
  '005-prototypes': prototypes,
  '006-oauth': oauth,
  '007-builds': builds,
  '008-one-build-per-repository': oneBuildPerRepository,
  '009-triggers': triggers,
  '010-manifest-labels': manifestLabels,
  '011-quotas': quotas,
  '012-sessions': sessions,
};

export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return Object.keys(migrations);
  },
  getMigrationName(name) {
    return name;
  },
  async getMigration(name) {
    return migrations[name]!;
  },
};
