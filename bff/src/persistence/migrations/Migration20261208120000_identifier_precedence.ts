import { Migration } from '@mikro-orm/migrations';

/**
 * Identifier precedence (issue 15 §1, decision 0021; entities in
 * `bff/src/accounts/identifier-takeover.entity.ts`): the takeover audit and the per-identifier lease.
 */
export class Migration20261208120000_identifier_precedence extends Migration {
  override name = 'Migration20261208120000_identifier_precedence';

  override up(): void {
    this.addSql(`
      create table "identifier_takeover" (
        "id" uuid not null,
        "at" timestamptz not null,
        "done_at" timestamptz null,
        "status" varchar(16) not null,
        "operation" varchar(32) not null,
        "kind" varchar(8) not null,
        "identifier_hash" varchar(64) not null,
        "identifier_masked" varchar(320) not null,
        "loser_user_id" uuid not null,
        "winner_user_id" uuid null,
        "notified_via" varchar(16) null,
        primary key ("id")
      );`);
    this.addSql(`create index "identifier_takeover_identifier_hash_idx" on "identifier_takeover" ("identifier_hash");`);
    this.addSql(`create index "identifier_takeover_loser_user_id_idx" on "identifier_takeover" ("loser_user_id");`);
    this.addSql(`
      create table "identifier_lock" (
        "identifier_hash" varchar(64) not null,
        "owner" uuid not null,
        "lease_until" timestamptz not null,
        primary key ("identifier_hash")
      );`);
  }

  override down(): void {
    this.addSql(`drop table if exists "identifier_lock";`);
    this.addSql(`drop table if exists "identifier_takeover";`);
  }
}
