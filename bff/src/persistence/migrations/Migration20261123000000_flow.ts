import { Migration } from '@mikro-orm/migrations';

/**
 * The `flow` table (see `bff/src/kernel/flow/flow.entity.ts`): one row per running multi-step flow.
 * Written by hand to read well; it matches what MikroORM's schema generator derives from the entity,
 * and `test/integration/flow-runtime.test.ts` fails if the two drift apart.
 */
export class Migration20261123000000_flow extends Migration {
  override name = 'Migration20261123000000_flow';

  override up(): void {
    this.addSql(`
      create table "flow" (
        "id" uuid not null,
        "kind" varchar(64) not null,
        "state" varchar(255) not null,
        "snapshot" jsonb not null,
        "machine_version" int not null,
        "expires_at" timestamptz not null,
        "created_at" timestamptz not null,
        "updated_at" timestamptz not null,
        "version" int not null default 1,
        primary key ("id")
      );`);
    // Queries by kind and state ("every claim waiting for a password"), and the expiry sweep.
    this.addSql(`create index "flow_kind_state_idx" on "flow" ("kind", "state");`);
    this.addSql(`create index "flow_expires_at_idx" on "flow" ("expires_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "flow";`);
  }
}
