import { createHmac, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { StateClaimAuditSchema, type StateClaimAuditRecord } from './state-claim.entities.ts';

export interface AuditEntry {
  flowId: string;
  event: string;
  outcome: 'ok' | 'refused' | 'failed';
  identityProvider: string;
  brokeredUserId: string;
  /** Normalised identifier: stored only as a keyed hash, next to its mask. */
  identifier?: { value: string; masked: string } | null;
  custodianUserId?: string | null;
  resultUserId?: string | null;
  detail?: string | null;
}

export interface AuditFilter {
  flowId?: string;
  /** Custodian or resulting account. */
  userId?: string;
  brokeredUserId?: string;
  event?: string;
  from?: Date;
  to?: Date;
}

/** The claim flow's audit trail (PostgreSQL), written at every decision and step, read by admins. */
export class StateClaimAudit {
  readonly #em: EntityManager;
  readonly #hashKey: string;

  constructor(deps: { em: EntityManager; hashKey: string }) {
    this.#em = deps.em;
    this.#hashKey = deps.hashKey;
  }

  identifierHash(value: string): string {
    return createHmac('sha256', this.#hashKey).update(`state-claim-audit\0${value}`).digest('hex');
  }

  async record(entry: AuditEntry): Promise<void> {
    // The database's clock_timestamp() (microseconds), not the process's milliseconds: a flow's steps
    // recorded one after the other within one millisecond still list in the order they happened.
    await this.#em.getConnection().execute(
      `insert into state_claim_audit (id, at, flow_id, event, outcome, identity_provider, brokered_user_id,
         identifier_hash, identifier_masked, custodian_user_id, result_user_id, detail)
       values (?, clock_timestamp(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        randomUUID(),
        entry.flowId,
        entry.event,
        entry.outcome,
        entry.identityProvider,
        entry.brokeredUserId,
        entry.identifier ? this.identifierHash(entry.identifier.value) : null,
        entry.identifier?.masked ?? null,
        entry.custodianUserId ?? null,
        entry.resultUserId ?? null,
        entry.detail ?? null,
      ],
      'run',
    );
  }

  async query(filter: AuditFilter & { identifier?: string }, page: { first: number; max: number }): Promise<{ items: StateClaimAuditRecord[]; total: number }> {
    const where: Record<string, unknown> = {};
    if (filter.flowId) where.flowId = filter.flowId;
    if (filter.event) where.event = filter.event;
    if (filter.brokeredUserId) where.brokeredUserId = filter.brokeredUserId;
    if (filter.identifier) where.identifierHash = this.identifierHash(filter.identifier);
    if (filter.userId) where.$or = [{ custodianUserId: filter.userId }, { resultUserId: filter.userId }];
    if (filter.from || filter.to) where.at = { ...(filter.from ? { $gte: filter.from } : {}), ...(filter.to ? { $lt: filter.to } : {}) };
    const [items, total] = await this.#em.fork().findAndCount(StateClaimAuditSchema, where, {
      orderBy: { at: 'asc', id: 'asc' },
      offset: page.first,
      limit: page.max,
    });
    return { items, total };
  }
}
