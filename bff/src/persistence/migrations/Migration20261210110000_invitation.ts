import { Migration } from '@mikro-orm/migrations';

/** Invitations into a tenant (issue 18, decision 0034; `bff/src/invitations/invitation.entity.ts`). */
export class Migration20261210110000_invitation extends Migration {
  override name = 'Migration20261210110000_invitation';

  override up(): void {
    this.addSql(`
      create table "invitation" (
        "id" uuid primary key,
        "tenant" varchar(100) not null,
        "kind" varchar(8) not null,
        "identifier_sealed" text not null,
        "identifier_hash" varchar(64) not null,
        "role" varchar(64) null,
        "user_id" varchar(64) null,
        "state_user_id" varchar(128) null,
        "names_sealed" text null,
        "locale" varchar(8) not null,
        "status" varchar(16) not null,
        "source" varchar(8) not null,
        "token_hash" varchar(64) not null,
        "expires_at" timestamptz not null,
        "lease_until" timestamptz null,
        "created_by" varchar(128) not null,
        "accepted_user_id" varchar(64) null,
        "accepted_at" timestamptz null,
        "send_count" int not null default 1,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null
      );`);
    this.addSql(`create unique index "invitation_token_hash_unique" on "invitation" ("token_hash");`);
    // One pending invitation per tenant and identifier (create reuses it; concurrent creates make one).
    this.addSql(`create unique index "invitation_pending_unique" on "invitation" ("tenant", "identifier_hash") where "status" = 'pending';`);
    this.addSql(`create index "invitation_tenant_created_at_index" on "invitation" ("tenant", "created_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "invitation";`);
  }
}
