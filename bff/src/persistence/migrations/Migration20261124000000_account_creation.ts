import { Migration } from '@mikro-orm/migrations';

/**
 * The `account_creation` table (see `bff/src/accounts/account-creation.entity.ts`): progress of
 * account creations, keyed by idempotency key, so a failed create is resumed or compensated.
 */
export class Migration20261124000000_account_creation extends Migration {
  override name = 'Migration20261124000000_account_creation';

  override up(): void {
    this.addSql(`
      create table "account_creation" (
        "key_hash" varchar(64) not null,
        "fingerprint" varchar(64) not null,
        "status" varchar(16) not null,
        "username" varchar(255) not null,
        "user_id" uuid null,
        "upstream_user_id" varchar(64) null,
        "lease_until" timestamptz null,
        "started_at" timestamptz not null,
        "updated_at" timestamptz not null,
        primary key ("key_hash")
      );`);
    // Finding the creation behind a Keycloak user (taking over an abandoned one).
    this.addSql(`create index "account_creation_user_id_idx" on "account_creation" ("user_id");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "account_creation";`);
  }
}
