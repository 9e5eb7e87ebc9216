import { Migration } from '@mikro-orm/migrations';

/**
 * The origins allowed to frame a partner's super component (`partner_client.frame_origins`, issue 14
 * §4; see `bff/src/partners/frame-origins.ts`). Existing partners start with none: the component
 * refuses every frame until an admin registers the partner's origins.
 */
export class Migration20261207140000_partner_origins extends Migration {
  override name = 'Migration20261207140000_partner_origins';

  override up(): void {
    this.addSql(`alter table "partner_client" add column "frame_origins" text[] not null default '{}';`);
  }

  override down(): void {
    this.addSql(`alter table "partner_client" drop column if exists "frame_origins";`);
  }
}
