import { Migration } from '@mikro-orm/migrations';

/** State member imports (bff/src/member-imports/member-import.entities.ts; issue 18, decision 0035). */
export class Migration20261210120000_member_imports extends Migration {
  override name = 'Migration20261210120000_member_imports';

  override up(): void {
    this.addSql(`
      create table "member_import" (
        "id" uuid not null,
        "tenant" varchar(64) not null,
        "status" varchar(16) not null,
        "total" int not null default 0,
        "created_by" varchar(64) not null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        "finished_at" timestamptz null,
        primary key ("id")
      );`);
    this.addSql(`create index "member_import_status_index" on "member_import" ("status");`);
    this.addSql(`
      create table "member_import_row" (
        "seq" bigserial,
        "import_id" uuid not null,
        "line" int not null,
        "payload" text not null,
        "result" varchar(16) not null,
        "reason" varchar(48) null,
        "invited" boolean not null default false,
        "user_id" varchar(64) null,
        "state_user_id_hash" varchar(64) null,
        "account_outcome" varchar(16) null,
        "attempts" int not null default 0,
        "next_attempt_at" timestamptz not null,
        "lease_until" timestamptz null,
        "last_error" varchar(64) null,
        "updated_at" timestamptz not null,
        primary key ("seq")
      );`);
    this.addSql(`alter table "member_import_row" add constraint "member_import_row_import_id_line_unique" unique ("import_id", "line");`);
    this.addSql(`create index "member_import_row_result_next_attempt_at_index" on "member_import_row" ("result", "next_attempt_at");`);
    // Which account an earlier import made or matched for a tenant's state user id (worker.ts, step 1).
    this.addSql(`create index "member_import_row_state_user_id_hash_index" on "member_import_row" ("state_user_id_hash");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "member_import_row";`);
    this.addSql(`drop table if exists "member_import";`);
  }
}
