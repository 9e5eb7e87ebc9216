import { Migration } from '@mikro-orm/migrations';

/**
 * The upstream outbox (`bff/src/upstream-sync/outbox.entities.ts` describes each table): changes of
 * linked members recorded from Keycloak's events and delivered to the upstream core in order, with
 * retries; the last recorded state of each member; the read position of each event feed.
 */
export class Migration20261128000000_upstream_outbox extends Migration {
  override name = 'Migration20261128000000_upstream_outbox';

  override up(): void {
    this.addSql(`
      create table "upstream_outbox" (
        "seq" bigserial primary key,
        "id" uuid not null,
        "user_id" varchar(64) not null,
        "upstream_user_id" varchar(64) null,
        "kind" varchar(16) not null,
        "payload" text null,
        "fields" varchar(200) not null default '',
        "source_event_id" varchar(128) not null,
        "status" varchar(16) not null default 'pending',
        "attempts" int not null default 0,
        "next_attempt_at" timestamptz not null,
        "last_error" varchar(64) null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        "delivered_at" timestamptz null
      );`);
    this.addSql(`alter table "upstream_outbox" add constraint "upstream_outbox_id_unique" unique ("id");`);
    // A Keycloak event is recorded once (re-reads of the look-back window add nothing).
    this.addSql(`alter table "upstream_outbox" add constraint "upstream_outbox_source_event_id_kind_unique" unique ("source_event_id", "kind");`);
    // The deliverer's scan of due rows and its per-member ordering check.
    this.addSql(`create index "upstream_outbox_status_next_attempt_at_index" on "upstream_outbox" ("status", "next_attempt_at");`);
    this.addSql(`create index "upstream_outbox_user_id_seq_index" on "upstream_outbox" ("user_id", "seq");`);
    this.addSql(`
      create table "upstream_outbox_mirror" (
        "user_id" varchar(64) not null,
        "upstream_user_id" varchar(64) not null,
        "snapshot" text not null,
        "updated_at" timestamptz not null,
        primary key ("user_id")
      );`);
    this.addSql(`
      create table "upstream_outbox_cursor" (
        "feed" varchar(32) not null,
        "position" bigint not null,
        "seen" text not null default '[]',
        "updated_at" timestamptz not null,
        primary key ("feed")
      );`);
  }

  override down(): void {
    this.addSql(`drop table if exists "upstream_outbox_cursor";`);
    this.addSql(`drop table if exists "upstream_outbox_mirror";`);
    this.addSql(`drop table if exists "upstream_outbox";`);
  }
}
