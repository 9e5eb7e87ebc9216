import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The identifier handoff (seed 004): the verified identifier and the state identity, sealed with
 * AES-256-GCM (fresh nonce; associated data binds flow id and handoff id), handed to Keycloak as an
 * opaque id and redeemed once by the same login session. `lease_until` serialises concurrent redeems
 * (two tabs, double submit); `consumed_at` is set only after the migration completed.
 * Table: Migration20261126000000_state_claim.
 */
export const IdentifierHandoffSchema = defineEntity({
  name: 'IdentifierHandoff',
  tableName: 'identifier_handoff',
  properties: {
    id: p.uuid().primary(),
    flowId: p.uuid(),
    ciphertext: p.text(),
    keyId: p.string().length(32),
    expiresAt: p.datetime(),
    consumedAt: p.datetime().nullable(),
    leaseUntil: p.datetime().nullable(),
    createdAt: p.datetime(),
  },
  indexes: [{ name: 'identifier_handoff_flow_id_idx', properties: ['flowId'] }],
});
export type IdentifierHandoffRecord = InferEntity<typeof IdentifierHandoffSchema>;

/**
 * One audited decision or step of a claim flow: who (state identity, resulting account), when, which
 * accounts, outcome. No identifier in clear: its mask and a keyed hash (to find all records of one
 * identifier without storing it).
 */
export const StateClaimAuditSchema = defineEntity({
  name: 'StateClaimAudit',
  tableName: 'state_claim_audit',
  properties: {
    id: p.uuid().primary(),
    at: p.datetime(),
    flowId: p.uuid(),
    event: p.string().length(64),
    outcome: p.string().length(32),
    identityProvider: p.string().length(255),
    brokeredUserId: p.string().length(255),
    identifierHash: p.string().length(64).nullable(),
    identifierMasked: p.string().length(320).nullable(),
    custodianUserId: p.string().length(64).nullable(),
    resultUserId: p.string().length(64).nullable(),
    detail: p.string().length(255).nullable(),
  },
  indexes: [
    { name: 'state_claim_audit_at_idx', properties: ['at'] },
    { name: 'state_claim_audit_flow_id_idx', properties: ['flowId'] },
  ],
});
export type StateClaimAuditRecord = InferEntity<typeof StateClaimAuditSchema>;
