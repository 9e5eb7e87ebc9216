/**
 * The upstream core: the external system of record for member profiles, organisations (channels),
 * memberships, member passwords (lazy migration, seed 000) and KBA (partner enrollment, seed 003).
 * Contract: `upstream/openapi.yaml`. Adapter: `bff/src/adapters/upstream-core/http-upstream-core.ts`.
 *
 * Errors are DomainErrors (`bff/src/kernel/errors.ts`):
 *   NOT_FOUND             a change names a user or organisation the core does not know
 *                         (plain look-ups answer `null` instead)
 *   CONFLICT              the core refuses the change; `details.upstreamCode` says why
 *                         (EXTERNAL_ID_CONFLICT, IDENTIFIER_TAKEN with `fields`, USER_DELETED,
 *                         USER_NOT_ACTIVE, ORGANISATION_INACTIVE, KBA_NOT_SET, VERIFICATION_CLOSED)
 *   VALIDATION_FAILED     the core rejected a value, `fields` name them
 *   UPSTREAM_UNAVAILABLE  the core did not answer (down, timeout, 502/503/504), after retries where safe
 *   UPSTREAM_FAILED       any other failure (5xx, unexpected answer, rejected API key)
 */

export type UpstreamUserStatus = 'active' | 'inactive' | 'deleted';

export interface UpstreamUser {
  /** The core's user id. */
  id: string;
  /** The platform's (Keycloak's) user id; null for an upstream-only member not yet migrated. */
  externalId: string | null;
  username: string | null;
  firstName: string;
  lastName: string | null;
  /** Lower-case. */
  email: string | null;
  /** E.164. */
  phone: string | null;
  status: UpstreamUserStatus;
  hasPassword: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface Organisation {
  id: string;
  name: string;
  isRootOrg: boolean;
  /** The root organisation's id (its own for a root organisation). */
  rootOrgId: string;
  /** The channel of the root organisation. */
  channel: string;
  status: 'active' | 'inactive';
}

export interface OrganisationWithRoot {
  organisation: Organisation;
  /** The same as `organisation` for a root organisation. */
  rootOrg: Organisation;
}

export interface Membership {
  userId: string;
  organisationId: string;
  rootOrgId: string;
  roles: string[];
}

/**
 * An entry of the core's change feed: this user's memberships, roles, status or platform link changed.
 * It says whose state changed, not what it became: read the current state (listMemberships, getUser).
 */
export interface MembershipChange {
  /** Position in the feed; entries become visible in this order. */
  seq: number;
  /** The core's user id. */
  userId: string;
  /** The platform user id at the time of the change; null when not linked then. */
  externalId: string | null;
}

export interface MembershipChangePage {
  changes: MembershipChange[];
  /** The `after` of the next read (the last seq of this page, or the same `after` when it was empty). */
  next: number;
}

export interface NewUpstreamUser {
  /** The platform's user id: makes the create idempotent. */
  externalId: string;
  firstName: string;
  lastName?: string | null;
  username?: string | null;
  email?: string | null;
  /** E.164. */
  phone?: string | null;
}

/** Absent fields are kept; `null` clears an optional one. */
export interface ProfileChanges {
  firstName?: string;
  lastName?: string | null;
  username?: string | null;
  email?: string | null;
  phone?: string | null;
}

/**
 * `idempotencyKey`: the core applies a change once per key (the outbox row id) and answers a repeat
 * with the recorded result, so a delivery retried after a lost answer is not applied twice.
 */
export interface ChangeOptions {
  idempotencyKey?: string;
}

export type UserLookup = { username: string } | { email: string } | { phone: string };

export type PasswordCheck =
  | { outcome: 'valid'; user: UpstreamUser }
  /** Unknown login, no password, wrong password: deliberately indistinguishable. */
  | { outcome: 'invalid' }
  /** The password is right but the member is not active: do not migrate or sign in. */
  | { outcome: 'not_active' };

export interface KbaQuestion {
  id: string;
  text: string;
}

export interface KbaAnswer {
  questionId: string;
  answer: string;
}

/** A person to verify by KBA before they are a member (partner enrollment, seed 003). */
export interface IdentityToVerify {
  firstName: string;
  lastName: string;
  /** YYYY-MM-DD. */
  dob: string;
  ssn?: string;
}

export interface IdentityVerification {
  id: string;
  questions: KbaQuestion[];
  expiresAt: Date;
}

export interface UpstreamCore {
  /** Resolves when the core and its database answer; for `/readyz`. Never retried. */
  ping(): Promise<void>;

  // Organisations (channels are root organisations).
  findRootOrgByChannel(channel: string): Promise<Organisation | null>;
  getOrganisation(orgId: string): Promise<OrganisationWithRoot | null>;

  // Users.
  /** Idempotent on `externalId`: `created` is false when an identical earlier create is replayed. */
  createUser(input: NewUpstreamUser): Promise<{ user: UpstreamUser; created: boolean }>;
  getUser(userId: string): Promise<UpstreamUser | null>;
  getUserByExternalId(externalId: string): Promise<UpstreamUser | null>;
  /** A user that is not deleted with exactly this username, email or E.164 phone. */
  findUser(lookup: UserLookup): Promise<UpstreamUser | null>;
  updateProfile(userId: string, changes: ProfileChanges, opts?: ChangeOptions): Promise<UpstreamUser>;
  /**
   * Links an upstream-only member to the platform user (lazy migration). Idempotent. A member linked
   * to another platform id is CONFLICT, unless `replaces` names that id (compare-and-set: the platform
   * found it stale, pointing to no account).
   */
  linkExternalId(userId: string, externalId: string, opts?: { replaces?: string }): Promise<UpstreamUser>;
  deactivateUser(userId: string, opts?: ChangeOptions): Promise<UpstreamUser>;
  activateUser(userId: string, opts?: ChangeOptions): Promise<UpstreamUser>;
  /** Soft delete (status `deleted`); idempotent. */
  deleteUser(userId: string): Promise<void>;

  // Memberships.
  listMemberships(userId: string): Promise<Membership[]>;
  /** Idempotent: sets the roles of the membership, creating it when absent. */
  addMembership(userId: string, orgId: string, roles: readonly string[]): Promise<{ membership: Membership; created: boolean }>;
  removeMembership(userId: string, orgId: string): Promise<void>;
  /** The change feed after `after` (0: from the start), oldest first, at most `limit` entries. */
  membershipChanges(after: number, limit: number): Promise<MembershipChangePage>;

  // Credentials. Verifications are never retried: a core may count failed attempts.
  /** `login` is a username, a lower-case email or an E.164 phone. */
  verifyPassword(login: string, password: string): Promise<PasswordCheck>;
  /** The user's KBA questions (empty when none are set); null when the user is unknown. */
  getKbaQuestions(userId: string): Promise<KbaQuestion[] | null>;
  /** Answers to every question; `ok` only if all are right. */
  verifyKbaAnswers(userId: string, answers: readonly KbaAnswer[]): Promise<'ok' | 'failed'>;

  // Identity verification of people who are not members yet. Never retried (every answer set counts).
  /** A verification with the questions to ask; null when the core cannot verify this person. */
  startIdentityVerification(person: IdentityToVerify): Promise<IdentityVerification | null>;
  /** `failed` also when the verification is closed (passed before, or out of tries). NOT_FOUND: unknown or expired. */
  answerIdentityVerification(verificationId: string, answers: readonly KbaAnswer[]): Promise<'passed' | 'failed'>;
}
