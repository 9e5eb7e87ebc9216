import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { DomainError } from '../../kernel/errors.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { EnrollmentSubject } from './partner-enrollment.machine.ts';

const HOUR = 3600;
const partnerKey = (clientId: string) => `partner:kba-starts:${clientId}`;

export type KbaStartOutcome = 'questions' | 'not_verifiable' | 'rate_limited' | 'failed';

export interface KbaStart {
  /** SHA-256 of the authToken. */
  tokenId: string;
  subject: EnrollmentSubject;
  /** Epoch milliseconds: when the authToken dies (and with it any use of waiting). */
  tokenExpiresAt: number;
}

export interface KbaStartAuditEntry {
  clientId: string;
  appKey: string;
  tokenId: string;
  outcome: KbaStartOutcome;
  refusedBy: 'token' | 'partner' | null;
}

export interface KbaStartAudit {
  record(entry: KbaStartAuditEntry): Promise<void>;
}

/** The audit rows in PostgreSQL; the database's clock stamps them. */
export class PgKbaStartAudit implements KbaStartAudit {
  readonly #em: EntityManager;

  constructor(deps: { em: EntityManager }) {
    this.#em = deps.em;
  }

  async record(entry: KbaStartAuditEntry): Promise<void> {
    await this.#em
      .getConnection()
      .execute(
        'insert into partner_kba_start_audit (id, at, client_id, app_key, token_id, outcome, refused_by) values (?, clock_timestamp(), ?, ?, ?, ?, ?)',
        [randomUUID(), entry.clientId, entry.appKey, entry.tokenId, entry.outcome, entry.refusedBy],
        'run',
      );
  }
}

/**
 * The limits and the audit of KBA starts (issue 14 §3). A start asks the upstream core whether a
 * person exists, so an unlimited start is a membership oracle. Two limits, both checked before the
 * core is asked, so a refused start tells nothing:
 *
 * - per authToken: `PARTNER_KBA_STARTS_PER_TOKEN`, counted in the flow itself (the machine's
 *   `kbaStartsLeft`; one step at a time per token, so no race). The caller passes what is left.
 * - per partner client and hour: `PARTNER_KBA_STARTS_PER_CLIENT_PER_HOUR`, a fixed-window counter in
 *   the ephemeral store (Redis), shared by every BFF process:
 *
 *     partner:kba-starts:{clientId}   starts this window   1 h from the window's first start
 *
 * Every start, allowed or refused, leaves one audit row (`partner_kba_start_audit`).
 */
export class KbaStartLimits {
  readonly #store: EphemeralStore;
  readonly #audit: KbaStartAudit;
  readonly #perClientPerHour: number;
  readonly #now: () => number;

  constructor(deps: { store: EphemeralStore; audit: KbaStartAudit; perClientPerHour: number; now?: () => number }) {
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#perClientPerHour = deps.perClientPerHour;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Lets the start through or refuses it (audited, RATE_LIMITED with the seconds to wait). The token's
   * own limit is looked at first, so a token that may start no more does not use up its partner's hour.
   * A start let through counts against the partner even if the core then fails: it may have been asked.
   */
  async admit(start: KbaStart, startsLeftOnToken: number): Promise<void> {
    if (startsLeftOnToken <= 0) {
      await this.settled(start, 'rate_limited', 'token');
      // Nothing changes for this token before it dies; the partner must ask for a new one.
      throw rateLimited('This authToken may start no more identity checks; start again with a new authToken', start.tokenExpiresAt - this.#now());
    }
    const counter = await this.#store.increment(partnerKey(start.subject.clientId), ttlSeconds(HOUR));
    if (counter.count > this.#perClientPerHour) {
      await this.settled(start, 'rate_limited', 'partner');
      throw rateLimited('Too many identity checks for this partner this hour; try again later', counter.ttlMillis);
    }
  }

  /** The audit row of one start. */
  async settled(start: KbaStart, outcome: KbaStartOutcome, refusedBy: 'token' | 'partner' | null = null): Promise<void> {
    await this.#audit.record({ clientId: start.subject.clientId, appKey: start.subject.appKey, tokenId: start.tokenId, outcome, refusedBy });
  }
}

function rateLimited(message: string, remainingMs: number): DomainError {
  return new DomainError('RATE_LIMITED', message, { details: { retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) } });
}
