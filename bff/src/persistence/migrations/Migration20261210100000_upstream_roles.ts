import { Migration } from '@mikro-orm/migrations';

/**
 * The read position of the upstream core's change feed (`GET /v1/membership-changes`), from which the
 * BFF copies members' upstream roles into Keycloak (decision 0033; `bff/src/upstream-sync/role-feed.entities.ts`).
 */
export class Migration20261210100000_upstream_roles extends Migration {
  override name = 'Migration20261210100000_upstream_roles';

  override up(): void {
    this.addSql(`
      create table "upstream_roles_cursor" (
        "feed" varchar(32) not null,
        "position" bigint not null,
        "caught_up_at" timestamptz null,
        "updated_at" timestamptz not null,
        primary key ("feed")
      );`);
  }

  override down(): void {
    this.addSql(`drop table if exists "upstream_roles_cursor";`);
  }
}
