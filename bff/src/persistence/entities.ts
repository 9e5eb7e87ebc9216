import { AccountCreationSchema } from '../accounts/account-creation.entity.ts';
import { AccountMergeAuditSchema, AccountMergeSchema } from '../flows/account-merge/account-merge.entities.ts';
import { IdentifierLockSchema, IdentifierTakeoverSchema } from '../accounts/identifier-takeover.entity.ts';
import { InvitationSchema } from '../invitations/invitation.entity.ts';
import { FlowSchema } from '../kernel/flow/flow.entity.ts';
import { PartnerKbaStartAuditSchema } from '../flows/partner-enrollment/partner-enrollment.entities.ts';
import { IdentifierHandoffSchema, StateClaimAuditSchema } from '../flows/state-claim/state-claim.entities.ts';
import { MemberImportRowSchema, MemberImportSchema } from '../member-imports/member-import.entities.ts';
import { PictureJobSchema, UserPictureSchema } from '../pictures/picture.entities.ts';
import { PartnerAppKeySchema, PartnerClientSchema, PartnerUserMappingSchema } from '../partners/partner.entities.ts';
import { UpstreamOutboxCursorSchema, UpstreamOutboxMirrorSchema, UpstreamOutboxSchema } from '../upstream-sync/outbox.entities.ts';
import { UpstreamRolesCursorSchema } from '../upstream-sync/role-feed.entities.ts';

/**
 * Every entity the BFF maps, in one list: `createOrm` registers exactly these, no folder discovery
 * (discovery by glob breaks under type stripping and bundling alike). A new entity goes here and gets
 * a migration in `./migrations/`.
 */
export const entities = [
  FlowSchema,
  AccountCreationSchema,
  IdentifierTakeoverSchema,
  IdentifierLockSchema,
  PartnerClientSchema,
  PartnerAppKeySchema,
  PartnerUserMappingSchema,
  PartnerKbaStartAuditSchema,
  IdentifierHandoffSchema,
  StateClaimAuditSchema,
  UpstreamOutboxSchema,
  UpstreamOutboxMirrorSchema,
  UpstreamOutboxCursorSchema,
  UpstreamRolesCursorSchema,
  InvitationSchema,
  MemberImportSchema,
  MemberImportRowSchema,
  UserPictureSchema,
  PictureJobSchema,
  AccountMergeSchema,
  AccountMergeAuditSchema,
];
