import type { Language } from '../kernel/languages.ts';
/**
 * Accounts that span Keycloak (the user, credentials, tenant membership), the upstream core (the
 * profile, channel/organisation memberships) and the platform's user attributes. Every flow that
 * creates, provisions or deletes an account goes through this one service, so the all-or-nothing
 * and idempotency rules live in one place.
 *
 * CONTRACT (shared by the sign-up, user-management, brokered-login and partner flows). The
 * implementation is `platform-account-service.ts` next to this file (how it stays all-or-nothing is
 * described there); the composition root constructs it as `container.accounts`.
 */
/**
 * Stored as the `signUpType` user attribute: self -> selfSignUp, api -> apiRegistration,
 * google -> google, state -> stateLogin, partner -> partner, migrated -> upstreamMigration,
 * invitation -> invitation (accepted a tenant invitation), onboard -> stateOnboard (a state's member import).
 */
export type SignUpType = 'self' | 'api' | 'google' | 'state' | 'partner' | 'migrated' | 'invitation' | 'onboard';

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
  /**
   * Checked by Keycloak against the realm policy atomically with the create (VALIDATION_FAILED on
   * `password`, nothing created). Absent: no password. Not part of the idempotency fingerprint: a
   * resumed create keeps the password of the attempt that created the Keycloak user.
   */
  password?: string;
  /** Upstream root organisation by channel; the user joins it with role PUBLIC. */
  channel?: string;
  /** Upstream organisation (root or sub-org; under `channel` when both are given); role PUBLIC. */
  organisationId?: string;
  signUpType: SignUpType;
  /** Seed 002's `userType` (the realm's options, e.g. `teacher`, `other`), the `userType` attribute. */
  userType?: string;
  /** The state's own id of the person (a state's member import, the state claim), the `stateUserId` attribute. */
  stateUserId?: string;
  /** The language the person chose while signing up (Keycloak's `locale`: its pages, mails and the platform's SMS). */
  locale?: Language;
  /** Keycloak organization alias of the tenant; `CUSTODIAN_TENANT` (accounts/tenants.ts) by default. */
  tenant?: string;
  /**
   * Contact details someone other than the person supplied (a partner's PII, what was typed at KBA).
   * Never the account's email/phone: kept as the admin-only attributes `partnerContactEmail` /
   * `partnerContactPhone`, not checked for uniqueness, not sent to the upstream core, never used to
   * sign in, recover or link. Only the person's proof makes one an identifier (decision 0016).
   * Part of the idempotency fingerprint, like the name.
   */
  contactCandidates?: ContactCandidates;
}

export interface ContactCandidates {
  /** Lower-case, trimmed. */
  email?: string;
  /** E.164. */
  phone?: string;
}

export interface CreatedAccount {
  userId: string;
  username: string;
  upstreamUserId: string;
  /** false when this call replayed (or resumed) an earlier create with the same idempotency key. */
  created: boolean;
}

/** Changes to an existing account (`updateProfile`); absent fields are kept. */
export interface AccountChanges {
  firstName?: string;
  /** `null` clears it. */
  lastName?: string | null;
  /** Lower-case, trimmed; proven by the caller (see `prove`), stored verified. */
  email?: string;
  /** E.164, proven by the caller and stored verified; `null` removes the phone. */
  phone?: string | null;
  /** The account's language (Keycloak's `locale`); Keycloak's only, the upstream profile has none. */
  locale?: Language;
  /** One of the realm's user types (accounts/user-types.ts, checked by the caller); Keycloak's only, like `locale`. */
  userType?: string;
}

/**
 * IDENTIFIER PRECEDENCE (SPEC "Tenancy and accounts", decision 0021), decided here and nowhere else:
 * an e-mail or phone is held *proven* (emailVerified / phoneVerified: an OTP proof, a confirmation
 * link, a trusted IdP's verified claim) or *unproven*. For every operation that puts an identifier on
 * an account (`create`, `updateProfile`, `confirmEmail`, `yieldToProven`):
 *  - an account holding it proven, or an upstream-only member holding it, blocks (ACCOUNT_EXISTS);
 *  - an account holding it unproven blocks an unproven claim, and LOSES it to a proven one: removed
 *    from that account (and its upstream profile), kept in its `retiredIdentifiers`, recorded in the
 *    `identifier_takeover` audit, the account told through its other verified identifier if it has
 *    one; then the proven operation goes through;
 *  - one operation per identifier at a time across processes, so it is never on two enabled
 *    accounts and a proven claim racing an unproven one wins whichever comes first.
 */
export interface AccountService {
  /**
   * Creates the account everywhere or not at all. Bad input (VALIDATION_FAILED naming fields, e.g.
   * `password` against the realm policy, `channel`, `organisationId`), a taken username/email/phone
   * (ACCOUNT_EXISTS naming the field; see IDENTIFIER PRECEDENCE for when an identifier is taken) are
   * reported before anything is written. An identifier another account holds unproven is taken from
   * it only once the new Keycloak user exists (its password passed the policy). The Keycloak user stays
   * disabled until every step succeeded. A dependency failure half-way (UPSTREAM_UNAVAILABLE,
   * IDENTITY_DIRECTORY_UNAVAILABLE, ...) either compensates or is completed by a retry with the same
   * `idempotencyKey`; a retry with the same key never creates a second account, and once complete
   * returns the same account (`created: false`). After a refusal that left nothing (e.g. the password
   * policy), the same key may be used again, also with corrected details. The same key with different
   * details once something was written, or while
   * another request works on it: CONFLICT (`details.reason` `idempotency_key_reused` /
   * `creation_in_progress`). No free generated username: CONFLICT naming `username`.
   * Generated usernames: lowercase name, `_` for spaces, ASCII, 4 random digits (see username.ts).
   */
  create(input: NewAccount, opts: { idempotencyKey: string }): Promise<CreatedAccount>;
  /**
   * For a user Keycloak created itself (first login through Google or a state IdP): makes sure the
   * upstream profile exists and is linked (`upstreamUserId` attribute) and the user is in `tenant`.
   * Idempotent; safe to call on every login. An identifier held by another upstream profile:
   * ACCOUNT_EXISTS naming it. Sets `signUpType` when the user has none. `created`: this call created
   * the upstream profile (also the admin conversion of a prospective member, decision 0013).
   */
  ensureProvisioned(userId: string, opts: { signUpType: SignUpType; tenant?: string }): Promise<{ upstreamUserId: string; created: boolean }>;
  /**
   * Changes the account's names and puts the e-mail/phone the person proved on it (verified), in the
   * upstream profile first (503 and nothing changed while the core is down), then in Keycloak (on
   * failure the upstream profile is put back). A new identifier held proven by another account or an
   * upstream-only member: ACCOUNT_EXISTS naming `email`/`phone`, before `prove` runs. `prove` spends
   * the caller's proofs (it throws when they are not good); only then does an unproven holder lose
   * the identifier.
   */
  updateProfile(userId: string, changes: AccountChanges, opts: { prove: () => Promise<void> }): Promise<void>;
  /**
   * The confirmation link mailed to `email` for `userId` was opened: marks it verified when the
   * account still has that address. `false` when it has not (it changed it, or lost it to someone
   * who proved it first): the link then confirms nothing and never takes the address back.
   */
  confirmEmail(userId: string, email: string): Promise<boolean>;
  /**
   * A trusted identity provider asserted `identifier` as verified and Keycloak is about to make an
   * account for it (first broker login): an account holding it unproven loses it now. Does nothing
   * when it is held proven (Keycloak's own confirm-and-prove linking applies) or by an upstream-only
   * member.
   */
  yieldToProven(identifier: { kind: 'email' | 'phone'; value: string }, opts: { provenBy: 'identity-provider' }): Promise<void>;
  /**
   * Deactivates the upstream profile, then removes the Keycloak user. Idempotent (unknown user: no-op;
   * a profile left active by an interrupted delete is still found by externalId and deactivated).
   */
  delete(userId: string): Promise<void>;
  /**
   * Drops what the BFF keeps about a user who is gone (creation keys, partner mappings): the last step
   * of `delete`, and what the upstream outbox does for a user deleted in Keycloak itself. Idempotent.
   */
  forgetDeleted(userId: string): Promise<void>;
}
