import type { Language } from '../kernel/languages.ts';

/**
 * Invitations into a tenant (issue 18, decision 0034): an administrator invites a person by e-mail or
 * mobile number, the BFF mails or texts a link, the person accepts it on the BFF's pages. The admin API
 * (`admin/invitations/`), `npm run members -- invite|invitations|resend|revoke`, the member import
 * (`member-imports/`) and the accept pages (`flows/invitation/`) all use this one service.
 *
 * CONTRACT. The implementation is `invitations.ts` next to this file.
 */
export type InvitationKind = 'email' | 'phone';
/** `expired` is derived: a pending invitation past its `expiresAt`. */
export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';
/** Who made it: an administrator (API, CLI) or a state's member import. */
export type InvitationSource = 'admin' | 'import';

export interface NewInvitation {
  /** The tenant's Keycloak organization alias (e.g. `state-demo`, `custodian`). */
  tenant: string;
  /** Exactly one of `email` / `phone`; a phone in any form libphonenumber reads (stored E.164). */
  email?: string;
  phone?: string;
  /** An upstream role name (like the core's Role: `TEACHER`, `PUBLIC`), given upstream on accept. */
  role?: string;
  /** An account already made for this person (a member import): accepting gives it its password. */
  userId?: string;
  stateUserId?: string;
  firstName?: string;
  lastName?: string;
  /** The language of the mail/SMS (and of the pages until the person picks one); `en` by default. */
  locale?: Language;
  /** The inviting administrator's account id, or a description like `import:<id>`. */
  invitedBy: string;
  source: InvitationSource;
}

/** What an administrator sees of an invitation. The identifier in full: the tenant's admins typed it. */
export interface InvitationView {
  id: string;
  tenant: string;
  kind: InvitationKind;
  /** The e-mail address or E.164 phone number invited. */
  identifier: string;
  role: string | null;
  userId: string | null;
  stateUserId: string | null;
  status: InvitationStatus;
  source: InvitationSource;
  createdBy: string;
  acceptedUserId: string | null;
  sendCount: number;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  acceptedAt: string | null;
}

export interface InvitationService {
  /**
   * Records the invitation and sends its link (mail or SMS, in `locale`). A pending invitation of the
   * same tenant and identifier is reused (`reused: true`): nothing new is stored, its link is sent
   * again with a fresh token. VALIDATION_FAILED names `email`/`phone`/`role`/...; an unknown tenant is
   * NOT_FOUND; a message that could not be sent: DELIVERY_FAILED and nothing stays half-made.
   */
  create(input: NewInvitation): Promise<{ invitation: InvitationView; reused: boolean }>;
  list(tenant: string, filter?: { status?: InvitationStatus }): Promise<InvitationView[]>;
  get(tenant: string, id: string): Promise<InvitationView>;
  /** A fresh token (the old link stops working), expiry extended, the message sent again. Only a pending or expired one. */
  resend(tenant: string, id: string): Promise<InvitationView>;
  /** The link is dead from now on. Idempotent for a revoked one; an accepted one: CONFLICT. */
  revoke(tenant: string, id: string): Promise<InvitationView>;
}
