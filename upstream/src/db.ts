import { readFile } from 'node:fs/promises';
import pg from 'pg';

/** Anything that runs a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid schema name "${schema}": lower-case letters, digits and _ only`);
  }
  return schema;
}

/** A pool whose connections resolve unqualified table names in `schema` (and nothing else of ours). */
export function createPool(databaseUrl: string, schema: string): pg.Pool {
  assertSchemaName(schema);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    // public stays on the path for gen_random_uuid() on older setups; our tables are in `schema`.
    options: `-c search_path=${schema},public`,
    max: 10,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Creates the schema and its tables when missing. Idempotent; the advisory lock serialises processes
 * starting at the same time against the same database.
 */
export async function applySchema(pool: pg.Pool, schema: string): Promise<void> {
  assertSchemaName(schema);
  const ddl = await readFile(new URL('./schema.sql', import.meta.url), 'utf8');
  await withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`upstream-core-schema:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(ddl);
  });
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** PostgreSQL error with the fields we look at; `detail` (which can hold values) is never logged. */
export interface PgError {
  code: string;
  constraint?: string;
}

export function isPgError(error: unknown, code?: string): error is PgError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    (code === undefined || (error as { code: string }).code === code)
  );
}

export const UNIQUE_VIOLATION = '23505';
