import { Migration } from '@mikro-orm/migrations';

/** Identifier handoffs and the audit trail of the state claim flow (bff/src/flows/state-claim/state-claim.entities.ts). */
export class Migration20261126000000_state_claim extends Migration {
  override name = 'Migration20261126000000_state_claim';

  override up(): void {
    this.addSql(`
      create table "identifier_handoff" (
        "id" uuid not null,
        "flow_id" uuid not null,
        "ciphertext" text not null,
        "key_id" varchar(32) not null,
        "expires_at" timestamptz not null,
        "consumed_at" timestamptz null,
        "lease_until" timestamptz null,
        "created_at" timestamptz not null,
        primary key ("id")
      );`);
    this.addSql(`create index "identifier_handoff_flow_id_idx" on "identifier_handoff" ("flow_id");`);
    this.addSql(`
      create table "state_claim_audit" (
        "id" uuid not null,
        "at" timestamptz not null,
        "flow_id" uuid not null,
        "event" varchar(64) not null,
        "outcome" varchar(32) not null,
        "identity_provider" varchar(255) not null,
        "brokered_user_id" varchar(255) not null,
        "identifier_hash" varchar(64) null,
        "identifier_masked" varchar(320) null,
        "custodian_user_id" varchar(64) null,
        "result_user_id" varchar(64) null,
        "detail" varchar(255) null,
        primary key ("id")
      );`);
    this.addSql(`create index "state_claim_audit_at_idx" on "state_claim_audit" ("at");`);
    this.addSql(`create index "state_claim_audit_flow_id_idx" on "state_claim_audit" ("flow_id");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "state_claim_audit";`);
    this.addSql(`drop table if exists "identifier_handoff";`);
  }
}
