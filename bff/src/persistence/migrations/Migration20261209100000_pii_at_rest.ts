import { Migration } from '@mikro-orm/migrations';

/**
 * Personal data at rest (issue 15 §6, decision 0022).
 *
 * - `account_creation.username` becomes text: it now holds the username sealed (FieldEncryption),
 *   longer than the 255 characters of a clear one. Usernames written before are marked
 *   `legacy:<username>` (`:` is in no username and no sealed value), read as they are, and sealed by
 *   the retention sweep (`AccountCreationSeal.resealStale`): SQL has no key to seal with.
 * - `flow` rows whose snapshot is still in clear and that have expired are deleted now rather than a
 *   day later; live ones are sealed by their next step, or deleted by the sweep a day after expiry.
 */
export class Migration20261209100000_pii_at_rest extends Migration {
  override name = 'Migration20261209100000_pii_at_rest';

  override up(): void {
    this.addSql(`alter table "account_creation" alter column "username" type text;`);
    this.addSql(`update "account_creation" set "username" = 'legacy:' || "username";`);
    this.addSql(`delete from "flow" where "expires_at" < now() and "snapshot" ->> 'sealed' is null;`);
  }

  /** Sealed usernames cannot be opened in SQL: going back needs the data migrated by the application. */
  override down(): void {
    throw new Error('Migration20261209100000_pii_at_rest cannot be reverted: sealed usernames cannot be opened in SQL');
  }
}
