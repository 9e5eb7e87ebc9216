/**
 * Accounts that span Keycloak (the user, credentials, tenant membership), the upstream core (the
 * profile, channel/organisation memberships) and the platform's user attributes. Every flow that
 * creates, provisions or deletes an account goes through this one service, so the all-or-nothing
 * and idempotency rules live in one place.
 *
 * CONTRACT (shared by the sign-up, user-management, brokered-login and partner flows). The
 * implementation lives next to this file; the composition root constructs it.
 */
export type SignUpType = 'self' | 'api' | 'google' | 'state' | 'partner' | 'migrated';

export interface NewAccount {
  firstName: string;
  lastName?: string;
  /** Unique; generated from the name when absent (lowercase, `_` for spaces, ASCII, 4 digits). */
  username?: string;
  /** Lower-case, trimmed. */
  email?: string;
  /** E.164. */
  phone?: string;
  /** Only ever from a verification (OTP proof, Google, confirmation link), never from a request. */
  emailVerified: boolean;
  phoneVerified: boolean;
  /** Checked by Keycloak against the realm policy atomically with the create. Absent: no password. */
  password?: string;
  /** Upstream root organisation by channel; the user joins it with role PUBLIC. */
  channel?: string;
  /** Upstream organisation (root or sub-org; under `channel` when both are given); role PUBLIC. */
  organisationId?: string;
  signUpType: SignUpType;
  /** Keycloak organization alias of the tenant; `custodian` by default. */
  tenant?: string;
}

export interface CreatedAccount {
  userId: string;
  username: string;
  upstreamUserId: string;
  /** false when this call replayed (or resumed) an earlier create with the same idempotency key. */
  created: boolean;
}

export interface AccountService {
  /**
   * Creates the account everywhere or not at all. Bad input (VALIDATION_FAILED naming fields, e.g.
   * `password` against the realm policy, `channel`, `organisationId`), a taken username/email/phone
   * (ACCOUNT_EXISTS naming the field) are reported before anything is written. The Keycloak user stays
   * disabled until every step succeeded. A dependency failure half-way (UPSTREAM_UNAVAILABLE,
   * IDENTITY_DIRECTORY_UNAVAILABLE, ...) either compensates or is completed by a retry with the same
   * `idempotencyKey`; a retry with the same key never creates a second account.
   */
  create(input: NewAccount, opts: { idempotencyKey: string }): Promise<CreatedAccount>;
  /**
   * For a user Keycloak created itself (first login through Google or a state IdP): makes sure the
   * upstream profile exists and is linked (`upstreamUserId` attribute) and the user is in `tenant`.
   * Idempotent; safe to call on every login.
   */
  ensureProvisioned(userId: string, opts: { signUpType: SignUpType; tenant?: string }): Promise<{ upstreamUserId: string }>;
  /** Removes the Keycloak user and deactivates the upstream profile. Idempotent (unknown user: no-op). */
  delete(userId: string): Promise<void>;
}
