import pg from 'pg';
import { parseDatabaseUrl, quoteIdentifier } from './database-url.ts';

/** PostgreSQL's SQLSTATE for "database already exists": another process won the race, which is fine. */
const DUPLICATE_DATABASE = '42P04';

/**
 * Creates the database named in `databaseUrl` when it does not exist, by connecting to the server's
 * `postgres` maintenance database with the same credentials. Returns whether it created it.
 * Safe to call concurrently and repeatedly. The stack scripts call it before `migrateUp`.
 */
export async function ensureDatabase(databaseUrl: string): Promise<{ created: boolean }> {
  const { database, maintenanceUrl } = parseDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const existing = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (existing.rowCount !== null && existing.rowCount > 0) return { created: false };
    try {
      await client.query(`create database ${quoteIdentifier(database)}`);
      return { created: true };
    } catch (error) {
      if ((error as { code?: unknown }).code === DUPLICATE_DATABASE) return { created: false };
      throw error;
    }
  } finally {
    await client.end();
  }
}
