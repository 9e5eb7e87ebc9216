import { Migration } from '@mikro-orm/migrations';

/**
 * Partner clients, their appKeys and the DBP user mappings (see `bff/src/partners/partner.entities.ts`).
 * Written by hand to match the entities exactly (the drift check compares them). appKeys are only
 * written for a registered client and mappings only for a known appKey, by `PartnerStore`.
 */
export class Migration20261125000000_partner extends Migration {
  override name = 'Migration20261125000000_partner';

  override up(): void {
    this.addSql(`
      create table "partner_client" (
        "client_id" varchar(255) not null,
        "name" varchar(200) not null,
        "trust_auth" boolean not null,
        "enabled" boolean not null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        primary key ("client_id")
      );`);
    this.addSql(`
      create table "partner_app_key" (
        "app_key" varchar(128) not null,
        "client_id" varchar(255) not null,
        "auto_enroll" boolean not null,
        "kba_bypass" boolean not null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        primary key ("app_key")
      );`);
    this.addSql(`create index "partner_app_key_client_id_idx" on "partner_app_key" ("client_id");`);
    this.addSql(`
      create table "partner_user_mapping" (
        "app_key" varchar(128) not null,
        "dbp_user_id" varchar(255) not null,
        "user_id" uuid not null,
        "created_at" timestamptz not null,
        primary key ("app_key", "dbp_user_id")
      );`);
    // Which partner mappings point at a user (account deletion, support).
    this.addSql(`create index "partner_user_mapping_user_id_idx" on "partner_user_mapping" ("user_id");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "partner_user_mapping";`);
    this.addSql(`drop table if exists "partner_app_key";`);
    this.addSql(`drop table if exists "partner_client";`);
  }
}
