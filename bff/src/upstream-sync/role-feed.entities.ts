import { defineEntity, p } from '@mikro-orm/core';

/**
 * How far the upstream core's change feed has been applied to Keycloak (made by
 * `Migration20261210100000_upstream_roles`; keep both in step; read and written in SQL by
 * `role-feed-cursor.ts`). `position`: the last feed `seq` applied; `caught_up_at`: when a pass last
 * read the feed to its end (the lag an operator watches).
 */
export const UpstreamRolesCursorSchema = defineEntity({
  name: 'UpstreamRolesCursor',
  tableName: 'upstream_roles_cursor',
  properties: {
    feed: p.string().length(32).primary(),
    position: p.bigint(),
    caughtUpAt: p.datetime().nullable(),
    updatedAt: p.datetime(),
  },
});
