import { createHash, randomUUID } from 'node:crypto';
import type { CreatedAccount } from '../../accounts/account-service.ts';
import { passwordIssue } from '../../accounts/password-rules.ts';
import { type UserTypeOption, userTypeIssue } from '../../accounts/user-types.ts';
import type { BackgroundTasks } from '../../kernel/background-tasks.ts';
import type { Mailer } from '../../ports/messaging.ts';
import type { UserManagementLimits } from './limits.ts';
import { addressTakenMail } from './messages.ts';
import { activeAccount } from '../../accounts/active-account.ts';
import type { Identifier } from '../../accounts/identifiers.ts';
import type { IdentifierChangeNotices } from '../../accounts/identifier-change-notices.ts';
import type { AccountChanges, AccountService } from '../../accounts/account-service.ts';
import { keyedHash } from '../../kernel/crypto/keyed-hash.ts';
import { DomainError, isDomainError, type FieldIssue } from '../../kernel/errors.ts';
import { isLanguage, type Language } from '../../kernel/languages.ts';
import { safeError, type Logger } from '../../kernel/logger.ts';
import type { VerificationProofs } from '../../otp/verification-proofs.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { AccessTokens } from '../../ports/access-tokens.ts';
import type { DirectoryOrganization, DirectoryUser, FederatedIdentity, IdentityDirectory } from '../../ports/identity-directory.ts';
import type { TokenSet, UserTokens } from '../../ports/user-tokens.ts';
import { invalidLink, type ConfirmationLinks } from './confirmation-links.ts';
import type { LoginInput, ProfileUpdate, RegisterInput, UserListQuery } from './schemas.ts';

/**
 * The user-management API (seed 001) as small use cases: no flow spans requests here, so no machine.
 * Keycloak holds the account, its credentials and sessions; the upstream core holds the profile.
 */
export interface UserManagementDeps {
  accounts: Pick<AccountService, 'create' | 'delete' | 'updateProfile' | 'confirmEmail'>;
  /** Tells the previous e-mail address or phone number of a change (decision 0020). */
  notices: Pick<IdentifierChangeNotices, 'tell'>;
  directory: IdentityDirectory;
  tokens: UserTokens;
  accessTokens: AccessTokens;
  proofs: VerificationProofs;
  store: EphemeralStore;
  /** HMAC key of what Redis keeps only to compare (request fingerprints, proof memos; decision 0022). */
  hashKey: string;
  links: ConfirmationLinks;
  /** The "address taken" mail of a registration (decision 0019). */
  mailer: Mailer;
  /** Where registration's slow part runs, after the answer left. */
  background: Pick<BackgroundTasks, 'run'>;
  /** Per-IP and per-identifier limits of the routes (limits.ts). */
  limits: UserManagementLimits;
  /** Where people sign in; the "address taken" mail points there. */
  signInUrl: string;
  logger: Logger;
  /** The audience the API's tokens carry (the BFF's client id), and the clients (`azp`) whose user tokens it takes. */
  bearer: { audience: string; clients: readonly string[] };
  /** ISO 3166 country of phone numbers typed without a country code. */
  defaultPhoneCountry: string;
  /** The realm's user types (accounts/user-types.ts, read from Keycloak and cached). */
  userTypes: () => Promise<UserTypeOption[]>;
}

// ------------------------------------------------------------------------------------------- views

export interface TokenView {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn?: number;
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
  /** The account's language (Keycloak's `locale`): its pages, mails and SMS; null when never chosen. */
  language: Language | null;
  /** One of the realm's user types (`GET /api/v1/user-types`); null when never chosen. */
  userType: string | null;
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
    language: isLanguage(attribute(u, 'locale')) ? (attribute(u, 'locale') as Language) : null,
    userType: attribute(u, 'userType') ?? null,
    identityProviders: links.map((l) => ({ provider: l.provider, username: l.username })),
  };
}

// ---------------------------------------------------------------------------------------- sign-up

export interface RegisterRequest {
  input: RegisterInput;
  idempotencyKey: string | undefined;
  /** Of the mails: the request's Accept-Language (an existing holder's own language wins). */
  language: Language;
  /** The request's logger (its request id), for what the background part logs. */
  logger: Logger;
}

const DAY = ttlSeconds(24 * 3600);
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Registration answers before it knows whether the address has an account, so the answer (202, one
 * body) and its timing tell nobody whether it has (decision 0019). Checked first, alike for every
 * address: the password rules that need no account (400) and that an `Idempotency-Key` is not reused
 * for another body (409, remembered 24 hours). The rest runs in the background (`completeRegistration`).
 */
export async function register(deps: UserManagementDeps, req: RegisterRequest): Promise<void> {
  const { input } = req;
  const issue = passwordIssue(input.password, input.email);
  if (issue) throw new DomainError('VALIDATION_FAILED', 'The password does not meet the password policy', { fields: [issue] });
  const userType = input.userType === undefined ? undefined : userTypeIssue(await deps.userTypes(), input.userType);
  if (userType) throw new DomainError('VALIDATION_FAILED', 'The registration is not valid', { fields: [userType] });
  if (req.idempotencyKey !== undefined) {
    const fingerprint = keyedHash(
      deps.hashKey,
      'register-request',
      JSON.stringify([input.firstName, input.lastName ?? null, input.email, input.userType ?? null]),
    );
    const keyOfKey = `user-management:register-key:${sha256(req.idempotencyKey)}`;
    if (!(await deps.store.setIfAbsent(keyOfKey, fingerprint, DAY))) {
      const first = await deps.store.get(keyOfKey);
      if (first !== null && first !== fingerprint) {
        throw new DomainError('CONFLICT', 'This Idempotency-Key was used for a different registration', { details: { reason: 'idempotency_key_reused' } });
      }
    }
  }
  const key = req.idempotencyKey ?? randomUUID();
  deps.background.run('register', () => completeRegistration(deps, input, key, req.language, req.logger), req.logger);
}

/**
 * Creates the account (disabled-until-complete, resumable: AccountService) with an unconfirmed email
 * and mails the confirmation link. An address that has an account (or an upstream-only member) gets
 * the "someone tried" mail instead and nothing is created. A repeat with the same `Idempotency-Key`
 * completes what the first left undone and mails only what it never could: the link if no link went
 * out, the notice once. Outcomes are logged (ids, never the address); a fault is logged as an error by
 * BackgroundTasks, and the person registers again.
 */
async function completeRegistration(deps: UserManagementDeps, input: RegisterInput, key: string, language: Language, logger: Logger): Promise<void> {
  let account: CreatedAccount;
  try {
    account = await deps.accounts.create(
      {
        firstName: input.firstName,
        ...(input.lastName ? { lastName: input.lastName } : {}),
        email: input.email,
        emailVerified: false,
        phoneVerified: false,
        password: input.password,
        ...(input.userType ? { userType: input.userType } : {}),
        signUpType: 'api',
      },
      { idempotencyKey: `user-management:register:${key}` },
    );
  } catch (err) {
    if (isDomainError(err) && err.code === 'ACCOUNT_EXISTS' && err.fields.some((f) => f.field === 'email')) {
      await tellHolder(deps, input.email, key, language, logger);
      return;
    }
    if (isDomainError(err) && (err.code === 'CONFLICT' || err.code === 'VALIDATION_FAILED')) {
      // Another request is creating it (that one mails), the key was used otherwise, or Keycloak's
      // policy refused the password for a reason only the new account has (notUsername): nothing made.
      logger.warn(
        { event: 'register.refused', errorCode: err.code, reason: err.details.reason, fields: err.fields.map((f) => `${f.field}:${f.reason}`) },
        'registration refused',
      );
      return;
    }
    throw err;
  }
  let emailVerified = false;
  if (!account.created) {
    const user = await deps.directory.getUser(account.userId);
    if (!user) {
      logger.warn({ event: 'register.refused', reason: 'idempotency_key_of_deleted_account' }, 'registration refused');
      return;
    }
    emailVerified = user.emailVerified;
  }
  if (!emailVerified && (account.created || !(await deps.links.wasIssued(account.userId)))) {
    await deps.links.issue({ userId: account.userId, email: input.email, firstName: input.firstName, language });
  }
  logger.info({ event: account.created ? 'register.created' : 'register.repeated', userId: account.userId }, 'registration done');
}

/** The "someone tried to create an account with your address" mail; once per Idempotency-Key. */
async function tellHolder(deps: UserManagementDeps, email: string, key: string, language: Language, logger: Logger): Promise<void> {
  const told = `user-management:register-told:${sha256(key)}`;
  if (!(await deps.store.setIfAbsent(told, '1', DAY))) return;
  // None for an upstream-only member: the address is theirs all the same.
  const holder = (await deps.directory.findUsersByEmail(email)).find((u) => u.email === email);
  const own = holder?.attributes.locale?.[0];
  const lang = isLanguage(own) ? own : language;
  try {
    await deps.mailer.send({ to: email, ...addressTakenMail(lang, { firstName: holder?.firstName, signInUrl: deps.signInUrl }), language: lang });
  } catch (err) {
    await deps.store.delete(told);
    throw err;
  }
  logger.info(
    { event: 'register.address_taken', ...(holder ? { userId: holder.id } : {}) },
    'registration for an address that has an account: its holder was told',
  );
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
  const claims = await deps.accessTokens.verify(tokens.accessToken, { audience: deps.bearer.audience });
  if (claims.email_verified !== true) {
    await deps.tokens.endSession(tokens.refreshToken).catch((err: unknown) => {
      // The session then ends by Keycloak's idle timeout; nobody holds its tokens.
      deps.logger.warn({ err: safeError(err), userId: claims.sub }, 'could not end the session of an unconfirmed login');
    });
    throw new DomainError(
      'EMAIL_NOT_CONFIRMED',
      'Confirm your email address first: open the link we mailed you, or ask for a new one (POST /api/v1/auth/send)',
    );
  }
  return tokenView(tokens);
}

/**
 * Keycloak's refresh-token grant, rotating. A spent refresh token sent again means a copy is in
 * someone else's hands: Keycloak revokes that client's tokens of the session but keeps the session
 * itself, so the BFF ends it (RFC 9700 4.14; decision 0006) and answers 401 like any refused token.
 */
export async function refresh(deps: UserManagementDeps, refreshToken: string): Promise<TokenView> {
  try {
    return tokenView(await deps.tokens.refresh(refreshToken));
  } catch (err) {
    if (isDomainError(err) && err.details.reason === 'refresh_token_reused') {
      await deps.tokens.endSession(refreshToken).catch((end: unknown) => {
        // Its refresh tokens are dead already; the session then ends by Keycloak's idle timeout.
        deps.logger.warn({ err: safeError(end) }, 'could not end the session of a reused refresh token');
      });
      deps.logger.warn({ event: 'user_management.refresh_token_reused' }, 'a spent refresh token was sent again; its session was ended');
    }
    throw err;
  }
}

export async function logout(deps: UserManagementDeps, refreshToken: string): Promise<void> {
  await deps.tokens.endSession(refreshToken);
}

// ---------------------------------------------------------------------------------------- profile

/** The caller's account; one that was deleted or disabled since its token was issued counts as signed out. */
const self = (deps: UserManagementDeps, userId: string): Promise<DirectoryUser> => activeAccount(deps.directory, userId);

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
  // The current address or number with a proof and not yet verified: proving it (a member imported
  // unverified verifies it here), under the same precedence rule as a new one (decision 0021).
  const provesCurrentEmail = input.email === user.email && input.emailProof !== undefined && !user.emailVerified;
  if (input.email !== undefined && (input.email !== user.email || provesCurrentEmail)) {
    if (input.emailProof === undefined) issues.push(proofRequired('emailProof', 'email'));
    else proofs.push({ proof: input.emailProof, identifier: { kind: 'email', value: input.email }, field: 'emailProof' });
    changes.email = input.email;
  }
  if (input.phoneProof !== undefined && !input.phone) {
    issues.push({ field: 'phone', reason: 'required', message: 'phoneProof goes with the new phone' });
  }
  const provesCurrentPhone = input.phone === currentPhone && input.phoneProof !== undefined && attribute(user, 'phoneVerified') !== 'true';
  if (input.phone !== undefined && (input.phone !== (currentPhone ?? null) || provesCurrentPhone)) {
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
  if (input.language !== undefined && input.language !== attribute(user, 'locale')) changes.locale = input.language;
  if (input.userType !== undefined && input.userType !== attribute(user, 'userType')) {
    const issue = userTypeIssue(await deps.userTypes(), input.userType);
    if (issue) issues.push(issue);
    else changes.userType = input.userType;
  }
  if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'The changes are not valid', { fields: issues });
  if (Object.keys(changes).length === 0) return getProfile(deps, userId);

  await deps.accounts.updateProfile(userId, changes, {
    prove: async () => {
      for (const use of proofs) await consumeProof(deps, userId, use);
    },
  });
  // The replaced address or number learns of it, in case it was not the person (decision 0020); a
  // proven current value replaced nothing (the notice skips it).
  const recipient = { userId, firstName: user.firstName, locale: changes.locale ?? attribute(user, 'locale') };
  if (changes.email !== undefined && user.email) await deps.notices.tell(recipient, { kind: 'email', previous: user.email, current: changes.email });
  if (changes.phone !== undefined && currentPhone) await deps.notices.tell(recipient, { kind: 'phone', previous: currentPhone, current: changes.phone });
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
