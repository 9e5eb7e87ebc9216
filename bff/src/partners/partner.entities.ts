import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Partners (digital banking platforms) and what they may do; tables made by
 * `Migration20261125000000_partner`, keep both in step.
 *
 * - `partner_client`: one Keycloak client (client credentials) per partner, the seed's b2b_clients row:
 *   `trustAuth` (the partner's own authentication is trusted: auto-enrolled users need no consent),
 *   `enabled` (a disabled partner's server tokens are refused even before they expire) and
 *   `frameOrigins` (the origins allowed to frame the super component, `frame-origins.ts`; column
 *   added by `Migration20261207140000_partner_origins`).
 * - `partner_app_key`: the seed's CaaS settings per appKey, bound to exactly one client.
 * - `partner_user_mapping`: appKey + dbpUserId -> platform (Keycloak) user id; the primary key makes
 *   the mapping unique whatever the concurrency.
 */
export const PartnerClientSchema = defineEntity({
  name: 'PartnerClient',
  tableName: 'partner_client',
  properties: {
    clientId: p.string().length(255).primary(),
    name: p.string().length(200),
    trustAuth: p.boolean(),
    enabled: p.boolean(),
    frameOrigins: p.array<string>().default([]),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export const PartnerAppKeySchema = defineEntity({
  name: 'PartnerAppKey',
  tableName: 'partner_app_key',
  properties: {
    appKey: p.string().length(128).primary(),
    clientId: p.string().length(255),
    autoEnroll: p.boolean(),
    kbaBypass: p.boolean(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
  indexes: [{ name: 'partner_app_key_client_id_idx', properties: ['clientId'] }],
});

export const PartnerUserMappingSchema = defineEntity({
  name: 'PartnerUserMapping',
  tableName: 'partner_user_mapping',
  properties: {
    appKey: p.string().length(128).primary(),
    dbpUserId: p.string().length(255).primary(),
    userId: p.uuid(),
    createdAt: p.datetime(),
  },
  indexes: [{ name: 'partner_user_mapping_user_id_idx', properties: ['userId'] }],
});

export type PartnerClientRecord = InferEntity<typeof PartnerClientSchema>;
export type PartnerAppKeyRecord = InferEntity<typeof PartnerAppKeySchema>;
export type PartnerUserMappingRecord = InferEntity<typeof PartnerUserMappingSchema>;
