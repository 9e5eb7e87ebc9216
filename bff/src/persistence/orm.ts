import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities.ts';
import { migrations } from './migrations/index.ts';

export type Orm = MikroORM;

export interface OrmOptions {
  /** `postgres://user@host:port/database`; the database must exist (see `ensureDatabase`). */
  databaseUrl: string;
  /** Log SQL through MikroORM's logger. Parameters are never logged (they can hold PII). */
  debug?: boolean;
  /** Upper bound of the connection pool (default 10). */
  poolMax?: number;
}

/**
 * Builds the one MikroORM instance of a BFF process: our entities, our checked-in migrations, nothing
 * discovered from the file system and nothing changed in the schema at start. Run `migrateUp(orm)`
 * explicitly (the stack scripts and `npm run db:migrate` do).
 */
export async function createOrm(options: OrmOptions): Promise<Orm> {
  return MikroORM.init(ormConfig(options));
}

/** The configuration on its own, for tools that want to build the ORM themselves. */
export function ormConfig(options: OrmOptions): Options {
  return {
    clientUrl: options.databaseUrl,
    entities,
    extensions: [Migrator],
    // MikroORM 7 would CREATE DATABASE on init; we do that only where we mean to (`ensureDatabase`).
    ensureDatabase: false,
    // Nobody may use the global identity map by accident: requests get a fork (request-context.ts),
    // everything else forks explicitly.
    allowGlobalContext: false,
    debug: options.debug === true ? ['query'] : false,
    pool: { max: options.poolMax ?? 10 },
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: migrations,
      // One master transaction for the whole batch: a failed migration leaves nothing half-applied.
      transactional: true,
      allOrNothing: true,
      // No schema snapshot files written next to the code at run time (read-only in production).
      snapshot: false,
      silent: true,
    },
  };
}
