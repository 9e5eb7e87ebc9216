import type { Orm } from './orm.ts';

/**
 * Arbitrary but fixed key of the PostgreSQL advisory lock that serialises migration runs: two BFF
 * processes (or a BFF and `npm run db:migrate`) starting together must not both apply a migration.
 */
const MIGRATION_LOCK_KEY = 4_711_020_261_123;

export interface MigrationRun {
  /** Names of the migrations applied by this call, oldest first; empty when the schema was current. */
  applied: string[];
}

/**
 * Applies the checked-in migrations that have not run yet, all in one transaction that first takes a
 * transaction-scoped advisory lock. Running it again (or concurrently) is a no-op. This is the only way
 * the schema changes: nothing syncs or updates the schema at start.
 */
export async function migrateUp(orm: Orm): Promise<MigrationRun> {
  const connection = orm.em.getConnection();
  const applied = await connection.transactional(async (trx) => {
    await connection.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY], 'all', trx);
    return orm.migrator.up({ transaction: trx });
  });
  return { applied: applied.map((m) => m.name) };
}

/** Names of the checked-in migrations not applied yet (for readiness checks and the CLI). */
export async function pendingMigrations(orm: Orm): Promise<string[]> {
  return (await orm.migrator.getPending()).map((m) => m.name);
}
