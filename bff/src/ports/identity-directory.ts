/**
 * The directory of accounts (Keycloak behind it): what the flows need from it, in our words.
 * Adapters translate vendor errors into DomainError codes: ACCOUNT_EXISTS, NOT_FOUND,
 * VALIDATION_FAILED (e.g. password policy), IDENTITY_DIRECTORY_UNAVAILABLE, IDENTITY_DIRECTORY_FAILED.
 */
export interface DirectoryUser {
  id: string;
  username: string;
  email?: string;
  emailVerified: boolean;
  firstName?: string;
  lastName?: string;
  enabled: boolean;
  attributes: Record<string, string[]>;
  createdAt?: Date;
}

export interface NewDirectoryUser {
  username: string;
  email?: string;
  emailVerified?: boolean;
  firstName: string;
  lastName?: string;
  enabled?: boolean;
  attributes?: Record<string, string[]>;
  /**
   * Set in the same Admin API call as the user: Keycloak checks it against the realm policy inside
   * the create's transaction, so a rejected password (VALIDATION_FAILED on `password`) leaves no user.
   */
  password?: string;
}

export interface DirectoryOrganization {
  id: string;
  alias: string;
  name: string;
}

/** An invitation made with Keycloak's own organization invitations (the admin console's "Invite member"). */
export interface KeycloakOrganizationInvitation {
  id: string;
  email: string;
  status: 'pending' | 'expired';
  sentAt: string | null;
  expiresAt: string | null;
}

/** An organization (a tenant) with its attributes, e.g. `tenantType`. */
export interface DirectoryTenant extends DirectoryOrganization {
  attributes: Record<string, string[]>;
}

export interface UserListFilter {
  name?: string;
  email?: string;
  enabled?: boolean;
}

export interface FederatedIdentity {
  /** Alias of the identity provider, e.g. `google`, `state-demo`. */
  provider: string;
  /** The user's id and username at that provider. */
  userId: string;
  username: string;
}

/** A user profile attribute's allowed values and their labels as the realm writes them (text or `${message.key}`). */
export interface AttributeOptions {
  options: string[];
  labels: Record<string, string>;
}

export interface IdentityDirectory {
  ping(): Promise<void>;
  getUser(id: string): Promise<DirectoryUser | null>;
  findUserByUsername(username: string): Promise<DirectoryUser | null>;
  findUsersByEmail(email: string): Promise<DirectoryUser[]>;
  /** Exact match on a single-valued user attribute (e.g. phone in E.164). */
  findUsersByAttribute(name: string, value: string): Promise<DirectoryUser[]>;
  createUser(user: NewDirectoryUser): Promise<{ id: string }>;
  /** Attributes given replace those of the same name; `email: null` removes the e-mail address. */
  updateUser(id: string, changes: Partial<Omit<NewDirectoryUser, 'username' | 'password' | 'email'>> & { email?: string | null }): Promise<void>;
  /** For a person who proved the account: also clears its brute-force lockout (the failures that led here). */
  setPassword(id: string, password: string): Promise<void>;
  deleteUser(id: string): Promise<void>;
  addToOrganization(userId: string, organizationAlias: string): Promise<void>;
  removeFromOrganization(userId: string, organizationAlias: string): Promise<void>;
  organizationsOf(userId: string): Promise<DirectoryOrganization[]>;
  /** The organization with this alias (a tenant), or null. */
  findOrganization(alias: string): Promise<DirectoryTenant | null>;
  /** Keycloak's own invitations into the organization (admin console); empty when it keeps none. */
  organizationInvitations(alias: string): Promise<KeycloakOrganizationInvitation[]>;
  /**
   * People (not service accounts) matching every filter given, a page at a time, with the total.
   * `name`: each word starts the first name, last name, username or email; `email`: contained in it.
   */
  listUsers(filter: UserListFilter, page: { first: number; max: number }): Promise<{ users: DirectoryUser[]; total: number }>;
  /** The user's links to identity providers (brokered sign-ins: Google, a state IdP). */
  federatedIdentitiesOf(userId: string): Promise<FederatedIdentity[]>;
  /** Links the user to `identity` at its provider; the same link already there: nothing happens (account merge, decision 0040). */
  linkFederatedIdentity(userId: string, identity: FederatedIdentity): Promise<void>;
  /** Removes the user's link to `provider`; none: nothing happens. */
  unlinkFederatedIdentity(userId: string, provider: string): Promise<void>;
  /** The types of the user's credentials (`password`, `otp` for an authenticator app, ...). */
  credentialTypes(userId: string): Promise<string[]>;
  /**
   * The realm's password policy as Keycloak writes it (`length(10) and notUsername and ...`; empty:
   * none), so a password can be checked before an account exists (accounts/password-policy.ts).
   */
  passwordPolicy(): Promise<string>;
  /**
   * The values the realm's user profile allows for attribute `name` (its `options` validation) and
   * their labels (annotation `inputOptionLabels`); null when it has no such attribute or no options.
   */
  attributeOptions(name: string): Promise<AttributeOptions | null>;
  /** The realm's own localization texts in `language` (realm-config localization/): key -> text. */
  localizationTexts(language: string): Promise<Record<string, string>>;
}
