import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AccountMergeAuditSchema, type AccountMergeAuditRecord } from './account-merge.entities.ts';

export interface MergeAuditEntry {
  flowId: string;
  event: string;
  outcome: 'ok' | 'refused' | 'failed';
  userId: string;
  otherUserId?: string | null;
  /** Kinds and counts only: never an identifier, a subject or a password. */
  detail?: string | null;
}

/** A UUID made from the flow and the step: the same step recorded twice is one row. */
function onceId(flowId: string, key: string): string {
  const h = createHash('sha256').update(`account-merge\0${flowId}\0${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The merge's audit trail (`account_merge_audit`), written at every proof, decision and step. */
export class MergeAudit {
  readonly #orm: { em: EntityManager };

  /** `orm.em` is read at each call, not when wired (the route listing builds features without a database). */
  constructor(deps: { orm: { em: EntityManager } }) {
    this.#orm = deps.orm;
  }

  /** `once`: a key (the step's name) that makes the row unique for the flow: a repeated step adds nothing. */
  async record(entry: MergeAuditEntry, opts: { once?: string } = {}): Promise<void> {
    // The database's clock_timestamp(): steps within one millisecond still list in order.
    await this.#orm.em.getConnection().execute(
      `insert into account_merge_audit (id, at, flow_id, event, outcome, user_id, other_user_id, detail)
       values (?, clock_timestamp(), ?, ?, ?, ?, ?, ?) on conflict (id) do nothing`,
      [
        opts.once ? onceId(entry.flowId, opts.once) : randomUUID(),
        entry.flowId,
        entry.event,
        entry.outcome,
        entry.userId,
        entry.otherUserId ?? null,
        entry.detail?.slice(0, 255) ?? null,
      ],
      'run',
    );
  }

  async ofFlow(flowId: string): Promise<AccountMergeAuditRecord[]> {
    return this.#orm.em.fork().find(AccountMergeAuditSchema, { flowId }, { orderBy: { at: 'asc', id: 'asc' } });
  }
}
