/**
 * Pure helpers on PostgreSQL connection URLs, kept apart from `ensure-database.ts` so they can be
 * unit-tested without a server.
 */

export interface DatabaseTarget {
  /** The database the URL names (decoded). */
  database: string;
  /** The same server and credentials, pointed at the `postgres` maintenance database. */
  maintenanceUrl: string;
}

/** Identifiers PostgreSQL accepts unquoted are all we create: no quoting games with user input. */
const SAFE_DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

export function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error('database URL is not a valid URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`database URL must use postgres:// or postgresql://, got ${url.protocol}//`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '') throw new Error('database URL names no database (path is empty)');
  if (!SAFE_DATABASE_NAME.test(database)) {
    throw new Error(`database name "${database}" must match ${SAFE_DATABASE_NAME.source}`);
  }
  const maintenance = new URL(url.toString());
  maintenance.pathname = '/postgres';
  return { database, maintenanceUrl: maintenance.toString() };
}

/** `"name"` with embedded quotes doubled; only used on names that already passed the check above. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
