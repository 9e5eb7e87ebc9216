import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError } from '../../kernel/errors.ts';

/** One advisory lock for every reservation: merges are rare, and two crossing ones must be seen together. */
const RESERVE_LOCK_KEY = 7_340_019;

/**
 * The merges under way and done (`account_merge`). `reserve` is the first step of a merge: one flow per
 * closed account, ever, and no account both merged into and merged away at once (A into B while B
 * into A would close both). Idempotent for the same flow.
 */
export class MergeStore {
  readonly #orm: { em: EntityManager };

  /** `orm.em` is read at each call, not when wired (the route listing builds features without a database). */
  constructor(deps: { orm: { em: EntityManager } }) {
    this.#orm = deps.orm;
  }

  async reserve(flowId: string, userId: string, otherUserId: string): Promise<void> {
    await this.#orm.em.fork().transactional(async (em) => {
      await em.execute('select pg_advisory_xact_lock(?)', [RESERVE_LOCK_KEY], 'run');
      const rows = await em.execute<{ flow_id: string; user_id: string; other_user_id: string; finished_at: Date | null }[]>(
        'select flow_id, user_id, other_user_id, finished_at from account_merge where other_user_id in (?, ?) or (user_id = ? and finished_at is null)',
        [otherUserId, userId, otherUserId],
        'all',
      );
      const mine = rows.find((r) => r.flow_id === flowId);
      if (mine) return;
      if (rows.some((r) => r.other_user_id === otherUserId)) {
        throw new DomainError('CONFLICT', 'That account was merged already', { details: { reason: 'already_merged' } });
      }
      if (rows.length > 0) {
        throw new DomainError('CONFLICT', 'One of the accounts is part of another merge', { details: { reason: 'merge_in_progress' } });
      }
      await em.execute('insert into account_merge (flow_id, user_id, other_user_id, created_at) values (?, ?, ?, now())', [flowId, userId, otherUserId], 'run');
    });
  }

  async finish(flowId: string): Promise<void> {
    await this.#orm.em.getConnection().execute('update account_merge set finished_at = coalesce(finished_at, now()) where flow_id = ?', [flowId], 'run');
  }
}
