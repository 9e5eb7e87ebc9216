import { Migration } from '@mikro-orm/migrations';

/** Profile pictures and their processing jobs (bff/src/pictures/picture.entities.ts; issue 19, decision 0038). */
export class Migration20261211110000_profile_pictures extends Migration {
  override name = 'Migration20261211110000_profile_pictures';

  override up(): void {
    this.addSql(`
      create table "user_picture" (
        "user_id" varchar(64) not null,
        "picture_id" uuid not null,
        "updated_at" timestamptz not null,
        "checked_at" timestamptz not null,
        primary key ("user_id")
      );`);
    this.addSql(`alter table "user_picture" add constraint "user_picture_picture_id_unique" unique ("picture_id");`);
    this.addSql(`create index "user_picture_checked_at_index" on "user_picture" ("checked_at");`);
    this.addSql(`
      create table "picture_job" (
        "id" uuid not null,
        "user_id" varchar(64) not null,
        "status" varchar(16) not null,
        "reason" varchar(48) null,
        "attempts" int not null default 0,
        "lease_until" timestamptz null,
        "replaced_picture_id" uuid null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        primary key ("id")
      );`);
    this.addSql(`create index "picture_job_status_created_at_index" on "picture_job" ("status", "created_at");`);
    this.addSql(`create index "picture_job_user_id_index" on "picture_job" ("user_id");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "picture_job";`);
    this.addSql(`drop table if exists "user_picture";`);
  }
}
