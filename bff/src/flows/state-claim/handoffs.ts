import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { bindSeal, type BoundSeal } from '../../kernel/crypto/bound-seal.ts';
import { FieldEncryptionError, type FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { DomainError } from '../../kernel/errors.ts';
import { IdentifierHandoffSchema } from './state-claim.entities.ts';

/** What a handoff carries: the verified identifier and the state identity it was verified for. */
export interface HandoffPayload {
  /** Null only when an earlier flow migrated already (`resume`). */
  identifier: { kind: 'email' | 'phone'; value: string } | null;
  identityProvider: string;
  brokeredUserId: string;
}

export interface HandoffStoreDeps {
  em: EntityManager;
  encryption: FieldEncryption;
  ttlSeconds: number;
  /** How long one redeem may hold the handoff before another may try (longer than a migration takes). */
  leaseSeconds?: number;
  now?: () => Date;
}

/**
 * Handoffs in PostgreSQL (MikroORM). Every refusal is VALIDATION_FAILED on `handoffId` with a stable
 * reason (unknown, expired, used, tampered, other_flow, other_person) and changes nothing.
 */
export class HandoffStore {
  readonly #d: Required<Omit<HandoffStoreDeps, 'now'>> & { now: () => Date };
  /** The payload, bound to its flow and handoff. */
  readonly #payloads: BoundSeal<HandoffPayload, [flowId: string, id: string]>;

  constructor(deps: HandoffStoreDeps) {
    this.#d = { leaseSeconds: 60, now: () => new Date(), ...deps };
    this.#payloads = bindSeal<HandoffPayload, [flowId: string, id: string]>(deps.encryption, 'json', (flowId, id) => `identifier-handoff:${flowId}:${id}`);
  }

  async issue(flowId: string, payload: HandoffPayload): Promise<string> {
    const id = randomUUID();
    const now = this.#d.now();
    const ciphertext = this.#payloads.seal(payload, flowId, id);
    await this.#d.em.fork().insert(IdentifierHandoffSchema, {
      id,
      flowId,
      ciphertext,
      keyId: ciphertext.split('.')[1]!,
      expiresAt: new Date(now.getTime() + this.#d.ttlSeconds * 1000),
      consumedAt: null,
      leaseUntil: null,
      createdAt: now,
    });
    return id;
  }

  /**
   * Opens the handoff for `flowId` and takes its lease, so one redeem at a time proceeds. The caller
   * then `consume`s it after the migration, or `release`s it when the migration failed.
   */
  async redeem(flowId: string, handoffId: string, person: { identityProvider: string; brokeredUserId: string }): Promise<HandoffPayload> {
    const em = this.#d.em.fork();
    const row = /^[0-9a-f-]{36}$/.test(handoffId) ? await em.findOne(IdentifierHandoffSchema, { id: handoffId }) : null;
    const now = this.#d.now();
    if (!row) throw refused('unknown', 'No such handoff');
    if (row.flowId !== flowId) throw refused('other_flow', 'The handoff belongs to another flow');
    if (row.consumedAt) throw refused('used', 'The handoff was used already');
    if (row.expiresAt <= now) throw refused('expired', 'The handoff has expired');
    let payload: HandoffPayload;
    try {
      payload = this.#payloads.open(row.ciphertext, row.flowId, row.id);
    } catch (err) {
      if (err instanceof FieldEncryptionError || err instanceof SyntaxError) throw refused('tampered', 'The handoff failed authentication');
      throw err;
    }
    // The same person as the login session Keycloak holds: the state identity the identifier was verified for.
    if (payload.identityProvider !== person.identityProvider || payload.brokeredUserId !== person.brokeredUserId) {
      throw refused('other_person', 'The handoff was issued to another person');
    }
    const leased = await em
      .getConnection()
      .execute(
        `update identifier_handoff set lease_until = ? where id = ? and consumed_at is null and (lease_until is null or lease_until < ?)`,
        [new Date(now.getTime() + this.#d.leaseSeconds * 1000), row.id, now],
        'run',
      );
    if (leased.affectedRows !== 1) {
      throw new DomainError('CONFLICT', 'This sign-in is being completed by another request', { details: { reason: 'handoff_in_use' } });
    }
    return payload;
  }

  /** True when `handoffId` is the handoff that completed `flowId`. */
  async completed(flowId: string, handoffId: string): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/.test(handoffId)) return false;
    const row = await this.#d.em.fork().findOne(IdentifierHandoffSchema, { id: handoffId, flowId });
    return Boolean(row?.consumedAt);
  }

  /**
   * Deletes handoffs expired before `before` whose flow is gone or expired too: none of them can be
   * redeemed any more, and `completed` is only asked while the flow lives. For the retention sweep.
   */
  async purgeStale(before: Date): Promise<number> {
    const res = await this.#d.em
      .fork()
      .getConnection()
      .execute(
        `delete from identifier_handoff h where h.expires_at < ? and not exists (select 1 from flow f where f.id = h.flow_id and f.expires_at >= ?)`,
        [before, before],
        'run',
      );
    return res.affectedRows;
  }

  async consume(handoffId: string): Promise<void> {
    await this.#d.em.fork().nativeUpdate(IdentifierHandoffSchema, { id: handoffId }, { consumedAt: this.#d.now(), leaseUntil: null });
  }

  async release(handoffId: string): Promise<void> {
    await this.#d.em.fork().nativeUpdate(IdentifierHandoffSchema, { id: handoffId, consumedAt: null }, { leaseUntil: null });
  }
}

function refused(reason: string, message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', message, { fields: [{ field: 'handoffId', reason, message }] });
}
