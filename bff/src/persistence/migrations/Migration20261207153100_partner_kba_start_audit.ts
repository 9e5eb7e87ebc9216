import { Migration } from '@mikro-orm/migrations';

/** The audit of partner KBA starts (bff/src/flows/partner-enrollment/partner-enrollment.entities.ts; issue 14 §3). */
export class Migration20261207153100_partner_kba_start_audit extends Migration {
  override name = 'Migration20261207153100_partner_kba_start_audit';

  override up(): void {
    this.addSql(`
      create table "partner_kba_start_audit" (
        "id" uuid not null,
        "at" timestamptz not null,
        "client_id" varchar(255) not null,
        "app_key" varchar(128) not null,
        "token_id" varchar(64) not null,
        "outcome" varchar(32) not null,
        "refused_by" varchar(16) null,
        primary key ("id")
      );`);
    this.addSql(`create index "partner_kba_start_audit_client_id_at_idx" on "partner_kba_start_audit" ("client_id", "at");`);
    this.addSql(`create index "partner_kba_start_audit_token_id_idx" on "partner_kba_start_audit" ("token_id");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "partner_kba_start_audit";`);
  }
}
