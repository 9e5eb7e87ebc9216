import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Runs `fn` while holding a PostgreSQL advisory lock named by `key`, across every BFF process and
 * CLI sharing the database; waits for a holder to finish. The lock lives in a transaction that stays
 * open for `fn` (one connection), so keep `fn` short.
 */
export function withAdvisoryLock<T>(em: EntityManager, key: string, fn: () => Promise<T>): Promise<T> {
  return em.fork().transactional(async (tx) => {
    await tx.execute('select pg_advisory_xact_lock(hashtext(?))', [key], 'run');
    return fn();
  });
}
