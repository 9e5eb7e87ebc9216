import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Identifier precedence (decision 0021): one row per identifier a proven claim took from an account
 * that held it unproven. It is the audit and the work record at once: written `pending` before
 * anything changes, `done` once the holder lost it (and was told where possible), `superseded` when
 * the holder proved it first after all. A pending row is finished by the next operation on the same
 * identifier, so a takeover interrupted half-way (the upstream core or Keycloak down, a crash) is
 * completed, never forgotten.
 *
 * - `identifierHash`: HMAC-SHA256 of `kind:value` (keyed, so phone numbers cannot be enumerated back);
 *   `identifierMasked` is what an admin sees (`a•••@example.com`).
 * - `operation`: what proved it: `sign-up`, `profile-change`, `state-claim`, `identity-provider`.
 * - `loserUserId`: the account that held it unproven; `winnerUserId`: the account that got it, when
 *   known when the row is written (a brokered first login's account is made by Keycloak afterwards).
 * - `notifiedVia`: `email` / `sms` (the holder's other verified identifier), `none`, `failed`.
 *
 * Table made by `Migration20261208120000_identifier_precedence`; keep both in step.
 */
export const IdentifierTakeoverSchema = defineEntity({
  name: 'IdentifierTakeover',
  tableName: 'identifier_takeover',
  properties: {
    id: p.uuid().primary(),
    at: p.datetime(),
    doneAt: p.datetime().nullable(),
    status: p.string().length(16),
    operation: p.string().length(32),
    kind: p.string().length(8),
    identifierHash: p.string().length(64),
    identifierMasked: p.string().length(320),
    loserUserId: p.uuid(),
    winnerUserId: p.uuid().nullable(),
    notifiedVia: p.string().length(16).nullable(),
  },
  indexes: [
    { name: 'identifier_takeover_identifier_hash_idx', properties: ['identifierHash'] },
    { name: 'identifier_takeover_loser_user_id_idx', properties: ['loserUserId'] },
  ],
});

export type IdentifierTakeoverRecord = InferEntity<typeof IdentifierTakeoverSchema>;
export type IdentifierTakeoverStatus = 'pending' | 'done' | 'superseded';

/**
 * One operation at a time per identifier, across BFF processes: a lease (not a held connection, so
 * a burst of sign-ups cannot exhaust the pool while each also needs connections for its own rows).
 * A holder that died frees it when `leaseUntil` passes (database clock).
 */
export const IdentifierLockSchema = defineEntity({
  name: 'IdentifierLock',
  tableName: 'identifier_lock',
  properties: {
    identifierHash: p.string().length(64).primary(),
    owner: p.uuid(),
    leaseUntil: p.datetime(),
  },
});

export type IdentifierLockRecord = InferEntity<typeof IdentifierLockSchema>;
