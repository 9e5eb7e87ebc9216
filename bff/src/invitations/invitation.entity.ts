import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * An invitation into a tenant (decision 0034). The identifier and the names are sealed (decision 0022,
 * bound to the row's id) with a keyed hash of the identifier for "a pending one for this person?"; the
 * link's token is kept only as its keyed hash. `expired` is not stored: a pending row past `expires_at`.
 * `lease_until` serialises concurrent accepts of one link. Table: Migration20261210110000_invitation.
 */
export const InvitationSchema = defineEntity({
  name: 'Invitation',
  tableName: 'invitation',
  properties: {
    id: p.uuid().primary(),
    tenant: p.string().length(100),
    kind: p.string().length(8),
    identifierSealed: p.text(),
    identifierHash: p.string().length(64),
    role: p.string().length(64).nullable(),
    userId: p.string().length(64).nullable(),
    stateUserId: p.string().length(128).nullable(),
    namesSealed: p.text().nullable(),
    locale: p.string().length(8),
    status: p.string().length(16),
    source: p.string().length(8),
    tokenHash: p.string().length(64),
    expiresAt: p.datetime(),
    leaseUntil: p.datetime().nullable(),
    createdBy: p.string().length(128),
    acceptedUserId: p.string().length(64).nullable(),
    acceptedAt: p.datetime().nullable(),
    sendCount: p.integer().default(1),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
  indexes: [{ name: 'invitation_tenant_created_at_index', properties: ['tenant', 'createdAt'] }],
  uniques: [
    { name: 'invitation_token_hash_unique', properties: ['tokenHash'] },
    // One pending invitation per tenant and identifier (partial: the ORM takes it as written).
    {
      name: 'invitation_pending_unique',
      expression: `create unique index "invitation_pending_unique" on "invitation" ("tenant", "identifier_hash") where "status" = 'pending'`,
    },
  ],
});
export type InvitationRecord = InferEntity<typeof InvitationSchema>;
