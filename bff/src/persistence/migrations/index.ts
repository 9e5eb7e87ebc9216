import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123000000_flow } from './Migration20261123000000_flow.ts';
import { Migration20261124000000_account_creation } from './Migration20261124000000_account_creation.ts';
import { Migration20261125000000_partner } from './Migration20261125000000_partner.ts';
import { Migration20261126000000_state_claim } from './Migration20261126000000_state_claim.ts';
import { Migration20261128000000_upstream_outbox } from './Migration20261128000000_upstream_outbox.ts';
import { Migration20261207140000_partner_origins } from './Migration20261207140000_partner_origins.ts';
import { Migration20261207153100_partner_kba_start_audit } from './Migration20261207153100_partner_kba_start_audit.ts';
import { Migration20261208120000_identifier_precedence } from './Migration20261208120000_identifier_precedence.ts';
import { Migration20261209100000_pii_at_rest } from './Migration20261209100000_pii_at_rest.ts';
import { Migration20261210100000_upstream_roles } from './Migration20261210100000_upstream_roles.ts';
import { Migration20261210110000_invitation } from './Migration20261210110000_invitation.ts';
import { Migration20261210120000_member_imports } from './Migration20261210120000_member_imports.ts';
import { Migration20261211110000_profile_pictures } from './Migration20261211110000_profile_pictures.ts';
import { Migration20261211130000_account_merge } from './Migration20261211130000_account_merge.ts';

/**
 * Every migration, oldest first, listed by hand: the list is the contract (no glob discovery, which
 * would need file-system paths that differ between Node's type stripping, vitest and a bundle).
 * The `name` is what lands in `mikro_orm_migrations`; never rename a shipped one.
 */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261123000000_flow', class: Migration20261123000000_flow },
  { name: 'Migration20261124000000_account_creation', class: Migration20261124000000_account_creation },
  { name: 'Migration20261125000000_partner', class: Migration20261125000000_partner },
  { name: 'Migration20261126000000_state_claim', class: Migration20261126000000_state_claim },
  { name: 'Migration20261128000000_upstream_outbox', class: Migration20261128000000_upstream_outbox },
  { name: 'Migration20261207140000_partner_origins', class: Migration20261207140000_partner_origins },
  { name: 'Migration20261207153100_partner_kba_start_audit', class: Migration20261207153100_partner_kba_start_audit },
  { name: 'Migration20261208120000_identifier_precedence', class: Migration20261208120000_identifier_precedence },
  { name: 'Migration20261209100000_pii_at_rest', class: Migration20261209100000_pii_at_rest },
  { name: 'Migration20261210100000_upstream_roles', class: Migration20261210100000_upstream_roles },
  { name: 'Migration20261210110000_invitation', class: Migration20261210110000_invitation },
  { name: 'Migration20261210120000_member_imports', class: Migration20261210120000_member_imports },
  { name: 'Migration20261211110000_profile_pictures', class: Migration20261211110000_profile_pictures },
  { name: 'Migration20261211130000_account_merge', class: Migration20261211130000_account_merge },
];
