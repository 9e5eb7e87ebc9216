import { Migration } from '@mikro-orm/migrations';

/** The account merge's reservations and audit trail (bff/src/flows/account-merge/account-merge.entities.ts; issue 19 §3, decision 0040). */
export class Migration20261211130000_account_merge extends Migration {
  override name = 'Migration20261211130000_account_merge';

  override up(): void {
    this.addSql(`
      create table "account_merge" (
        "flow_id" uuid not null,
        "user_id" varchar(64) not null,
        "other_user_id" varchar(64) not null,
        "created_at" timestamptz not null,
        "finished_at" timestamptz null,
        primary key ("flow_id")
      );`);
    this.addSql(`alter table "account_merge" add constraint "account_merge_other_user_id_unique" unique ("other_user_id");`);
    this.addSql(`create index "account_merge_user_id_index" on "account_merge" ("user_id");`);
    this.addSql(`
      create table "account_merge_audit" (
        "id" uuid not null,
        "at" timestamptz not null,
        "flow_id" uuid not null,
        "event" varchar(64) not null,
        "outcome" varchar(32) not null,
        "user_id" varchar(64) not null,
        "other_user_id" varchar(64) null,
        "detail" varchar(255) null,
        primary key ("id")
      );`);
    this.addSql(`create index "account_merge_audit_flow_id_index" on "account_merge_audit" ("flow_id");`);
    this.addSql(`create index "account_merge_audit_at_index" on "account_merge_audit" ("at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "account_merge_audit";`);
    this.addSql(`drop table if exists "account_merge";`);
  }
}
