import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * One KBA start of a partner authToken (issue 14 §3), allowed or refused: each start asks the upstream
 * core whether a person exists, so every one is kept. Who (partner client, appKey), which authToken
 * (its SHA-256, the id its record has in Redis; never the token), what came of it, when. Never the
 * PII: not even a hash of it (names and dates of birth are few enough to guess). Table:
 * Migration20261207153100_partner_kba_start_audit.
 */
export const PartnerKbaStartAuditSchema = defineEntity({
  name: 'PartnerKbaStartAudit',
  tableName: 'partner_kba_start_audit',
  properties: {
    id: p.uuid().primary(),
    at: p.datetime(),
    clientId: p.string().length(255),
    appKey: p.string().length(128),
    tokenId: p.string().length(64),
    /** questions | not_verifiable | rate_limited | failed (the upstream core or Keycloak failed). */
    outcome: p.string().length(32),
    /** For `rate_limited`: the limit that refused it, `token` or `partner`. */
    refusedBy: p.string().length(16).nullable(),
  },
  indexes: [
    { name: 'partner_kba_start_audit_client_id_at_idx', properties: ['clientId', 'at'] },
    { name: 'partner_kba_start_audit_token_id_idx', properties: ['tokenId'] },
  ],
});
export type PartnerKbaStartAuditRecord = InferEntity<typeof PartnerKbaStartAuditSchema>;
