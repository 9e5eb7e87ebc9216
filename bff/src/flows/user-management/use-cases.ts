import { createHash, randomUUID } from 'node:crypto';
import type { AccessTokenVerifier } from '../../adapters/keycloak/access-token-verifier.ts';
import type { AccountChanges, AccountService } from '../../accounts/account-service.ts';
import { keyedHash } from '../../kernel/crypto/keyed-hash.ts';
import { DomainError, type FieldIssue } from '../../kernel/errors.ts';
import { safeError, type Logger } from '../../kernel/logger.ts';
import type { Identifier, VerificationProofs } from '../../otp/verification-proofs.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { DirectoryOrganization, DirectoryUser, FederatedIdentity, IdentityDirectory } from '../../ports/identity-directory.ts';
import type { TokenSet, UserTokens } from '../../ports/user-tokens.ts';
import type { BearerSettings } from './bearer.ts';
import { invalidLink, type ConfirmationLinks } from './confirmation-links.ts';
import type { LoginInput, ProfileUpdate, RegisterInput, UserListQuery } from './schemas.ts';

/**
 * The user-management API (seed 001) as small use cases: no flow spans requests here, so no machine.
 * Keycloak holds the account, its credentials and sessions; the upstream core holds the profile.
 */
export interface UserManagementDeps {
  accounts: Pick<AccountService, 'create' | 'delete' | 'updateProfile' | 'confirmEmail'>;
  directory: IdentityDirectory;
  tokens: UserTokens;
  verifier: AccessTokenVerifier;
  proofs: VerificationProofs;
  store: EphemeralStore;
  /** HMAC key of what Redis keeps only to compare (request fingerprints, proof memos; decision 0022). */
  hashKey: string;
  links: ConfirmationLinks;
  logger: Logger;
  bearer: BearerSettings;
  /** ISO 3166 country of phone numbers typed without a country code. */
  defaultPhoneCountry: string;
}

// ------------------------------------------------------------------------------------------- views

export interface TokenView {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn?: number;
}

export interface RegistrationView {
  id: string;
  username: string;
  email: string;
  emailVerified: boolean;
}

export interface UserSummary {
  id: string;
  username: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  emailVerified: boolean;
  phone: string | null;
  phoneVerified: boolean;
  enabled: boolean;
  createdAt: string | null;
}

export interface ProfileView extends Omit<UserSummary, 'enabled'> {
  /** The tenant (Keycloak organization) the account belongs to. */
  tenant: { alias: string; name: string } | null;
  /** Identity providers the account signs in with besides its password (Google, a state IdP). */
  identityProviders: { provider: string; username: string }[];
}

export interface UserPage {
  items: UserSummary[];
  page: number;
  pageSize: number;
  total: number;
}

const tokenView = (t: TokenSet): TokenView => ({ tokenType: 'Bearer', ...t });
const attribute = (u: DirectoryUser, name: string): string | undefined => u.attributes[name]?.[0];

function summary(u: DirectoryUser): UserSummary {
  return {
    id: u.id,
    username: u.username,
    firstName: u.firstName ?? null,
    lastName: u.lastName ?? null,
    email: u.email ?? null,
    emailVerified: u.emailVerified,
    phone: attribute(u, 'phone') ?? null,
    phoneVerified: attribute(u, 'phoneVerified') === 'true',
    enabled: u.enabled,
    createdAt: u.createdAt?.toISOString() ?? null,
  };
}

function profile(u: DirectoryUser, organizations: DirectoryOrganization[], links: FederatedIdentity[]): ProfileView {
  const { enabled: _enabled, ...rest } = summary(u);
  const tenant = organizations[0];
  return {
    ...rest,
    tenant: tenant ? { alias: tenant.alias, name: tenant.name } : null,
    identityProviders: links.map((l) => ({ provider: l.provider, username: l.username })),
  };
}

// ---------------------------------------------------------------------------------------- sign-up

/**
 * Creates the account (disabled-until-complete, resumable: AccountService) with an unconfirmed email
 * and mails the confirmation link. With an `Idempotency-Key`, a repeat answers like the first and
 * mails only if the first never did; without one, a repeat finds the email taken (409).
 */
export async function register(deps: UserManagementDeps, input: RegisterInput, idempotencyKey: string | undefined): Promise<RegistrationView> {
  const account = await deps.accounts.create(
    {
      firstName: input.firstName,
      ...(input.lastName ? { lastName: input.lastName } : {}),
      email: input.email,
      emailVerified: false,
      phoneVerified: false,
      password: input.password,
      signUpType: 'api',
    },
    { idempotencyKey: `user-management:register:${idempotencyKey ?? randomUUID()}` },
  );
  let emailVerified = false;
  if (!account.created) {
    const user = await deps.directory.getUser(account.userId);
    if (!user) throw new DomainError('CONFLICT', 'This Idempotency-Key belongs to an account that was deleted', { details: { reason: 'idempotency_key_reused' } });
    emailVerified = user.emailVerified;
  }
  if (!emailVerified && (account.created || !(await deps.links.wasIssued(account.userId)))) {
    await deps.links.issue({ userId: account.userId, email: input.email, firstName: input.firstName });
  }
  return { id: account.userId, username: account.username, email: input.email, emailVerified };
}

/**
 * Marks the email verified when the link is good and the account still has that address; one that
 * lost it to someone who proved it (decision 0021) or changed it is not given it back.
 */
export async function confirmEmail(deps: UserManagementDeps, token: string): Promise<void> {
  await deps.links.redeem(token, async ({ userId, email }) => {
    if (!(await deps.accounts.confirmEmail(userId, email))) throw invalidLink();
  });
}

/** Sends a new link when the address belongs to an unconfirmed account; answers the same either way. */
export async function resendConfirmation(deps: UserManagementDeps, email: string, ip: string): Promise<void> {
  await deps.links.admitResend(email, ip);
  const user = (await deps.directory.findUsersByEmail(email)).find((u) => u.email === email);
  if (user?.enabled && !user.emailVerified) await deps.links.issue({ userId: user.id, email, ...(user.firstName ? { firstName: user.firstName } : {}) });
}

// ----------------------------------------------------------------------------------------- tokens

/**
 * Keycloak's password grant. An unconfirmed email is refused only after the password proved right
 * (so the answer reveals nothing to someone without it), and the session just opened is ended.
 */
export async function login(deps: UserManagementDeps, input: LoginInput): Promise<TokenView> {
  const tokens = await deps.tokens.passwordGrant(input.email, input.password, input.otp);
  const claims = await deps.verifier.verify(tokens.accessToken, { audience: deps.bearer.audience });
  if (claims.email_verified !== true) {
    await deps.tokens.endSession(tokens.refreshToken).catch((err: unknown) => {
      // The session then ends by Keycloak's idle timeout; nobody holds its tokens.
      deps.logger.warn({ err: safeError(err), userId: claims.sub }, 'could not end the session of an unconfirmed login');
    });
    throw new DomainError('EMAIL_NOT_CONFIRMED', 'Confirm your email address first: open the link we mailed you, or ask for a new one (POST /api/v1/auth/send)');
  }
  return tokenView(tokens);
}

export async function refresh(deps: UserManagementDeps, refreshToken: string): Promise<TokenView> {
  return tokenView(await deps.tokens.refresh(refreshToken));
}

export async function logout(deps: UserManagementDeps, refreshToken: string): Promise<void> {
  await deps.tokens.endSession(refreshToken);
}

// ---------------------------------------------------------------------------------------- profile

/** The caller's account; one that was deleted or disabled since its token was issued counts as signed out. */
async function self(deps: UserManagementDeps, userId: string): Promise<DirectoryUser> {
  const user = await deps.directory.getUser(userId);
  if (!user?.enabled) throw new DomainError('UNAUTHENTICATED', 'This account no longer exists or is disabled');
  return user;
}

export async function getProfile(deps: UserManagementDeps, userId: string): Promise<ProfileView> {
  const user = await self(deps, userId);
  const [organizations, links] = await Promise.all([deps.directory.organizationsOf(userId), deps.directory.federatedIdentitiesOf(userId)]);
  return profile(user, organizations, links);
}

interface ProofUse {
  proof: string;
  identifier: Identifier;
  field: string;
}

/**
 * Changes the caller's own profile. Names change freely; a new email or phone needs an OTP proof for
 * exactly that value (purpose `change-identifier`) and is stored verified. Validated here (nothing
 * written yet); AccountService.updateProfile then checks that the new identifiers may be had (409
 * before the proofs are spent; an account holding one unproven loses it, decision 0021), consumes
 * the proofs through `prove`, and updates the upstream profile, then Keycloak.
 */
export async function updateProfile(deps: UserManagementDeps, userId: string, input: ProfileUpdate): Promise<ProfileView> {
  const user = await self(deps, userId);
  const currentPhone = attribute(user, 'phone');
  const changes: AccountChanges = {};
  const proofs: ProofUse[] = [];
  const issues: FieldIssue[] = [];

  if (input.firstName !== undefined && input.firstName !== user.firstName) changes.firstName = input.firstName;
  if (input.lastName !== undefined && input.lastName !== (user.lastName ?? null)) changes.lastName = input.lastName;
  if (input.emailProof !== undefined && input.email === undefined) {
    issues.push({ field: 'email', reason: 'required', message: 'emailProof goes with the new email' });
  }
  if (input.email !== undefined && input.email !== user.email) {
    if (input.emailProof === undefined) issues.push(proofRequired('emailProof', 'email'));
    else proofs.push({ proof: input.emailProof, identifier: { kind: 'email', value: input.email }, field: 'emailProof' });
    changes.email = input.email;
  }
  if (input.phoneProof !== undefined && !input.phone) {
    issues.push({ field: 'phone', reason: 'required', message: 'phoneProof goes with the new phone' });
  }
  if (input.phone !== undefined && input.phone !== (currentPhone ?? null)) {
    if (input.phone === null) {
      if (!user.email || !user.emailVerified) {
        issues.push({ field: 'phone', reason: 'last_identifier', message: 'Confirm an email address before removing the phone number' });
      }
    } else if (input.phoneProof === undefined) {
      issues.push(proofRequired('phoneProof', 'phone'));
    } else {
      proofs.push({ proof: input.phoneProof, identifier: { kind: 'phone', value: input.phone }, field: 'phoneProof' });
    }
    changes.phone = input.phone;
  }
  if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'The changes are not valid', { fields: issues });
  if (Object.keys(changes).length === 0) return getProfile(deps, userId);

  await deps.accounts.updateProfile(userId, changes, {
    prove: async () => {
      for (const use of proofs) await consumeProof(deps, userId, use);
    },
  });
  return getProfile(deps, userId);
}

const proofRequired = (field: string, identifier: string): FieldIssue => ({
  field,
  reason: 'required',
  message: `A new ${identifier} needs a proof: POST /api/v1/otp (purpose change-identifier), then POST /api/v1/otp/verify`,
});

/**
 * Consumes an OTP proof, remembering for a while which user used it for which value: when a later
 * step of the same change failed (503), the person's retry with the same proof is let through.
 */
async function consumeProof(deps: UserManagementDeps, userId: string, use: ProofUse): Promise<void> {
  const key = `user-management:proof-used:${createHash('sha256').update(use.proof).digest('hex')}`;
  // Only compared: a keyed hash, so the store never names the new e-mail or phone (decision 0022).
  const memo = keyedHash(deps.hashKey, 'proof-used', JSON.stringify([userId, use.identifier.kind, use.identifier.value]));
  if ((await deps.store.get(key)) === memo) return;
  await deps.proofs.consume(use.proof, use.identifier, 'change-identifier', use.field);
  await deps.store.set(key, memo, ttlSeconds(15 * 60));
}

/** Removes the Keycloak user (its sessions end with it) and deactivates the upstream profile. */
export async function deleteAccount(deps: UserManagementDeps, userId: string): Promise<void> {
  await deps.accounts.delete(userId);
}

// ------------------------------------------------------------------------------------------ admin

export async function listUsers(deps: UserManagementDeps, query: UserListQuery): Promise<UserPage> {
  const { users, total } = await deps.directory.listUsers(
    {
      ...(query.name ? { name: query.name } : {}),
      ...(query.email ? { email: query.email } : {}),
      ...(query.status ? { enabled: query.status === 'enabled' } : {}),
    },
    { first: (query.page - 1) * query.pageSize, max: query.pageSize },
  );
  return { items: users.map(summary), page: query.page, pageSize: query.pageSize, total };
}
