import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Progress of one `AccountService.create`, keyed by its idempotency key, so that a create that
 * failed half-way (Keycloak user made, upstream core down) is resumed by a retry with the same key
 * instead of leaving a half account or making a second one.
 *
 * - `keyHash`: SHA-256 of the idempotency key (keys may be derived from secrets such as OTP proofs).
 * - `fingerprint`: HMAC of the normalised request without the password (rows from before decision
 *   0022: plain SHA-256); a key reused for another request is refused.
 * - `status`: `in_progress` until every step is done (`completed`), or `compensated` when what was
 *   written has been undone (a retry then starts afresh).
 * - `username`: chosen before the Keycloak call, so a retry finds a user whose create landed but
 *   whose id never reached this row (the process died in between). Sealed (AES-256-GCM bound to
 *   `keyHash`; `AccountCreationSeal`, decision 0022): it is, or is made from, the person's name.
 * - `leaseUntil`: one request at a time works on a row; an expired lease is free to take.
 * - `startedAt`: start of the current attempt (a compensated row that is retried starts again).
 *
 * Table made by `Migration20261124000000_account_creation` (username: `Migration20261209100000_pii_at_rest`); keep both in step.
 */
export const AccountCreationSchema = defineEntity({
  name: 'AccountCreation',
  tableName: 'account_creation',
  properties: {
    keyHash: p.string().length(64).primary(),
    fingerprint: p.string().length(64),
    status: p.string().length(16),
    username: p.text(),
    userId: p.uuid().nullable(),
    upstreamUserId: p.string().length(64).nullable(),
    leaseUntil: p.datetime().nullable(),
    startedAt: p.datetime(),
    updatedAt: p.datetime(),
  },
  indexes: [{ name: 'account_creation_user_id_idx', properties: ['userId'] }],
});

export type AccountCreationRecord = InferEntity<typeof AccountCreationSchema>;
export type AccountCreationStatus = 'in_progress' | 'completed' | 'compensated';
