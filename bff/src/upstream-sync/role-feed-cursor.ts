import type { EntityManager } from '@mikro-orm/postgresql';

/** The cursor's row; one feed today. */
const FEED = 'membership-changes';
/** Arbitrary constant naming the advisory lock of the roles sync (one reader of the feed at a time). */
const ROLE_SYNC_LOCK_KEY = 7_033_1210;

/** What a pass may do with the cursor while it holds it. */
export interface HeldCursor {
  /** The last feed seq applied (0: nothing yet). */
  position: number;
  /** Records `position` as applied (and, when `caughtUp`, that the feed was read to its end); committed with the pass. */
  advance(position: number, caughtUp: boolean): Promise<void>;
}

export interface RoleFeedCursorState {
  position: number;
  caughtUpAt: Date | null;
}

/**
 * The read position of the upstream core's change feed, in the BFF's database (table
 * `upstream_roles_cursor`). A pass holds it in one transaction: a transaction-scoped advisory lock
 * (another BFF process skips its pass instead of waiting) and the row locked FOR UPDATE. What the pass
 * advanced commits at its end; a pass that fails before advancing leaves the position where it was.
 */
export class RoleFeedCursor {
  readonly #em: EntityManager;
  readonly #now: () => Date;

  constructor(deps: { em: EntityManager; now?: () => Date }) {
    this.#em = deps.em;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Runs `fn` holding the cursor; null (without running it) when another process holds it. */
  async withCursor<T>(fn: (cursor: HeldCursor) => Promise<T>): Promise<T | null> {
    return this.#em.fork().transactional(async (em) => {
      const [lock] = await em.execute<{ locked: boolean }[]>('select pg_try_advisory_xact_lock(?) as locked', [ROLE_SYNC_LOCK_KEY], 'all');
      if (!lock?.locked) return null;
      await em.execute('insert into upstream_roles_cursor (feed, position, updated_at) values (?, 0, ?) on conflict do nothing', [FEED, this.#now()], 'run');
      const rows = await em.execute<{ position: string }[]>('select position from upstream_roles_cursor where feed = ? for update', [FEED], 'all');
      const position = Number(rows[0]?.position ?? 0);
      return fn({
        position,
        advance: async (next, caughtUp) => {
          const now = this.#now();
          await em.execute(
            'update upstream_roles_cursor set position = greatest(position, ?), caught_up_at = case when ? then ? else caught_up_at end, updated_at = ? where feed = ?',
            [next, caughtUp, now, now, FEED],
            'run',
          );
        },
      });
    });
  }

  /** Where the cursor is (for /metrics); null before the first pass. */
  async state(): Promise<RoleFeedCursorState | null> {
    const rows = await this.#em
      .fork()
      .execute<{ position: string; caught_up_at: string | Date | null }[]>(
        'select position, caught_up_at from upstream_roles_cursor where feed = ?',
        [FEED],
        'all',
      );
    const row = rows[0];
    if (!row) return null;
    return { position: Number(row.position), caughtUpAt: row.caught_up_at === null ? null : new Date(row.caught_up_at) };
  }
}
