import { createHmac } from 'node:crypto';
import { isE164, normaliseEmail, parsePhone } from '../../accounts/identifiers.ts';
import { generateUsername, USERNAME_PATTERN } from '../../accounts/username.ts';
import { isDomainError } from '../../kernel/errors.ts';
import { safeError, type Logger } from '../../kernel/logger.ts';
import { ttlSeconds, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { DirectoryUser, IdentityDirectory } from '../../ports/identity-directory.ts';
import type { PasswordCheck, UpstreamCore, UpstreamUser, UserLookup } from '../../ports/upstream-core.ts';
import type { UserChangeFeed } from '../../ports/user-change-feed.ts';

/**
 * Lazy migration of upstream-only members (seed 000), asked by Keycloak's providers
 * (keycloak/providers/.../upstream) when Keycloak itself cannot sign a person in:
 *
 * - `signIn`: the login page was given a login Keycloak does not know (or one of an account imported
 *   for a password reset that has no password yet). The upstream core checks the password; only when
 *   it is right is the Keycloak account created WITH that password (Keycloak hashes it), linked both
 *   ways and put in the custodian tenant. Keycloak then checks the password itself, as for anyone.
 *   A password below the realm's policy is not stored: the account is imported without one, and
 *   Keycloak, once this BFF confirmed the password, signs the person in and asks for a new one.
 * - `prepareReset`: "forgot password" for a login Keycloak does not know. An active upstream member
 *   with an e-mail is imported without a password, so Keycloak's own reset mail can be sent.
 *
 * Both also find an existing account by phone (Keycloak itself looks up username and e-mail only).
 * Both answer the Keycloak user to go on with, or none; "none" never says why (no enumeration
 * through Keycloak's pages). Importing is idempotent: a second or concurrent call finds the account
 * the first one made. See docs/decisions/0012-lazy-migration-login.md.
 */
export interface UpstreamLoginDeps {
  directory: Pick<
    IdentityDirectory,
    'getUser' | 'findUserByUsername' | 'findUsersByEmail' | 'findUsersByAttribute' | 'createUser' | 'deleteUser' | 'addToOrganization'
  >;
  upstream: Pick<UpstreamCore, 'verifyPassword' | 'findUser' | 'getUser' | 'linkExternalId'>;
  /** Whether a platform account was deleted: a member whose stale link names one is not relinked. */
  deletedAccounts: Pick<UserChangeFeed, 'wasDeleted'>;
  /** Country of phone numbers typed without a country code (ISO 3166 alpha-2). */
  defaultPhoneCountry: string;
  /** Keycloak organization of migrated members: the custodian. */
  tenant: string;
  /**
   * Keycloak's brute-force protection only counts failures of accounts it has: wrong passwords of one
   * login are counted here instead, and after `maxFailures` in `windowSeconds` the core is not asked
   * (the answer is `none`, as for any wrong password). Counter keys are HMACs of the login (`hashKey`).
   */
  failures: { store: Pick<EphemeralStore, 'get' | 'increment'>; hashKey: string; maxFailures: number; windowSeconds: number };
  logger: Logger;
}

export interface SignInRequest {
  login: string;
  password: string;
  /** An upstream-linked Keycloak account without a password (imported for a reset, or with a password below the policy): only confirm the core accepts the password. */
  userId?: string | undefined;
}

export type Answer = { outcome: 'user'; userId: string } | { outcome: 'none' };

const NONE: Answer = { outcome: 'none' };
const found = (userId: string): Answer => ({ outcome: 'user', userId });

/** How a login reads: an e-mail (has `@`), a phone number (national or international), else a username. */
export function readLogin(raw: string, defaultPhoneCountry: string): UserLookup {
  const value = raw.trim();
  if (value.includes('@')) return { email: normaliseEmail(value) };
  if (/^\+?[\d\s().-]{6,20}$/.test(value)) {
    const phone = parsePhone(value, defaultPhoneCountry);
    if (phone && isE164(phone)) return { phone };
  }
  return { username: value.toLowerCase() };
}

export async function signIn(deps: UpstreamLoginDeps, request: SignInRequest): Promise<Answer> {
  if (request.userId !== undefined) return confirmFirstPassword(deps, request.userId, request.password);
  const lookup = readLogin(request.login, deps.defaultPhoneCountry);
  const existing = await findAccount(deps, lookup);
  if (existing) return found(existing.id);

  const check = await verifyLimited(deps, loginOf(lookup), request.password);
  if (check.outcome !== 'valid') return NONE;
  return importMember(deps, check.user, request.password, 'upstream_login.imported');
}

/** The core's password check, unless this login has failed too often lately; failures are counted. */
async function verifyLimited(deps: UpstreamLoginDeps, login: string, password: string): Promise<PasswordCheck | { outcome: 'limited' }> {
  const key = `upstream-login:failures:${createHmac('sha256', deps.failures.hashKey).update(login).digest('base64url')}`;
  const failures = Number((await deps.failures.store.get(key)) ?? 0);
  const check = failures >= deps.failures.maxFailures ? { outcome: 'limited' as const } : await deps.upstream.verifyPassword(login, password);
  if (check.outcome === 'invalid') await deps.failures.store.increment(key, ttlSeconds(deps.failures.windowSeconds));
  if (check.outcome !== 'valid') deps.logger.info({ event: 'upstream_login.refused', reason: check.outcome }, 'upstream login refused');
  return check;
}

export async function prepareReset(deps: UpstreamLoginDeps, login: string): Promise<Answer> {
  const lookup = readLogin(login, deps.defaultPhoneCountry);
  const existing = await findAccount(deps, lookup);
  if (existing) return found(existing.id);
  const profile = await deps.upstream.findUser(lookup);
  // Without an e-mail Keycloak has nowhere to send the link: importing would only leave an account behind.
  if (profile?.status !== 'active' || !profile.email) return NONE;
  return importMember(deps, profile, undefined, 'upstream_login.imported_for_reset');
}

/** The Keycloak account of this login: by username, e-mail or the `phone` attribute. */
async function findAccount(deps: UpstreamLoginDeps, lookup: UserLookup): Promise<DirectoryUser | null> {
  if ('username' in lookup) return deps.directory.findUserByUsername(lookup.username);
  const users = 'email' in lookup ? await deps.directory.findUsersByEmail(lookup.email) : await deps.directory.findUsersByAttribute('phone', lookup.phone);
  // Two accounts with one phone number: no guessing which one is meant.
  return users.length === 1 ? users[0]! : null;
}

const loginOf = (lookup: UserLookup) => ('username' in lookup ? lookup.username : 'email' in lookup ? lookup.email : lookup.phone);

/**
 * The first sign-in of a member imported without a password (for a reset whose link was not used, or
 * whose upstream password is below the realm's policy): `user` when the core accepts this password
 * for the member linked to the account. Keycloak then makes it the account's password itself (in its
 * own session, so its check that follows sees it), or, below the policy, asks for a new one.
 */
async function confirmFirstPassword(deps: UpstreamLoginDeps, userId: string, password: string): Promise<Answer> {
  const user = await deps.directory.getUser(userId);
  const upstreamUserId = user?.attributes.upstreamUserId?.[0];
  if (!user?.enabled || !upstreamUserId) return NONE;
  const profile = await deps.upstream.getUser(upstreamUserId);
  const login = profile?.username ?? profile?.email ?? profile?.phone;
  if (!login) return NONE;
  const check = await verifyLimited(deps, login, password);
  if (check.outcome !== 'valid' || check.user.id !== upstreamUserId) return NONE;
  deps.logger.info({ event: 'upstream_login.first_password', userId }, 'upstream password confirmed for an imported account');
  return found(userId);
}

/**
 * The Keycloak account of an upstream member, enabled, with the password when given, in the tenant,
 * linked both ways (`upstreamUserId` here, `externalId` there). A failure after the Keycloak user
 * exists deletes it again, so a retry starts clean and nothing half-migrated stays behind.
 *
 * A member whose `externalId` names no Keycloak account (set by another client of the core's create
 * route, or left by an account deleted here) is imported like an upstream-only member and relinked:
 * the core replaces that stale value only if it still holds it (`replaces`, compare-and-set). Not when
 * Keycloak recorded that account's deletion: the member's deactivation may still be on its way
 * through the outbox, and signing in must not bring a deleted account back (decision 0012).
 */
async function importMember(deps: UpstreamLoginDeps, profile: UpstreamUser, password: string | undefined, event: string): Promise<Answer> {
  const stale = profile.externalId;
  if (stale) {
    // Already linked (e.g. imported by a concurrent request): that account is the one.
    const linked = await deps.directory.getUser(stale);
    if (linked) return found(linked.id);
    if (await deps.deletedAccounts.wasDeleted(stale)) {
      deps.logger.warn(
        { event: 'upstream_login.linked_account_deleted', upstreamUserId: profile.id },
        'upstream member linked to a deleted account; not imported',
      );
      return NONE;
    }
  }
  const username =
    profile.username && USERNAME_PATTERN.test(profile.username) ? profile.username : generateUsername(`${profile.firstName} ${profile.lastName ?? ''}`);
  const create = (withPassword: string | undefined) =>
    deps.directory.createUser({
      username,
      firstName: profile.firstName,
      ...(profile.lastName ? { lastName: profile.lastName } : {}),
      // The core does not say whether it verified the address: we do not claim it.
      ...(profile.email ? { email: profile.email, emailVerified: false } : {}),
      enabled: true,
      attributes: {
        upstreamUserId: [profile.id],
        signUpType: ['upstreamMigration'],
        ...(profile.phone ? { phone: [profile.phone], phoneVerified: ['false'] } : {}),
      },
      ...(withPassword === undefined ? {} : { password: withPassword }),
    });
  let userId: string;
  let imported = event;
  try {
    try {
      ({ id: userId } = await create(password));
    } catch (err) {
      // Legacy passwords are often shorter than the realm's policy allows. Keycloak rolled the whole
      // create back; without the password the member can still come in: Keycloak's first-password
      // step then lets this one sign-in through (the core accepted it) and asks for a new password.
      if (!(password !== undefined && isDomainError(err) && err.code === 'VALIDATION_FAILED' && err.fields.every((f) => f.field === 'password'))) throw err;
      ({ id: userId } = await create(undefined));
      imported = 'upstream_login.imported_below_policy';
    }
  } catch (err) {
    if (isDomainError(err) && err.code === 'ACCOUNT_EXISTS') return concurrentImport(deps, profile, username);
    if (isDomainError(err) && err.code === 'VALIDATION_FAILED') {
      deps.logger.warn({ event: 'upstream_login.not_importable', fields: err.fields.map((f) => f.field) }, 'upstream member cannot be imported');
      return NONE;
    }
    throw err;
  }
  try {
    await deps.directory.addToOrganization(userId, deps.tenant);
    await deps.upstream.linkExternalId(profile.id, userId, stale ? { replaces: stale } : {});
  } catch (err) {
    await deps.directory.deleteUser(userId).catch((e: unknown) => deps.logger.error({ err: safeError(e), userId }, 'could not undo a half-done import'));
    throw err;
  }
  deps.logger.info({ event: imported, userId, upstreamUserId: profile.id, ...(stale ? { relinked: true } : {}) }, 'upstream member imported');
  return found(userId);
}

/** The username (or e-mail, phone) is taken: fine when by this member's own account, made meanwhile. */
async function concurrentImport(deps: UpstreamLoginDeps, profile: UpstreamUser, username: string): Promise<Answer> {
  const candidates = [await deps.directory.findUserByUsername(username), ...(profile.email ? await deps.directory.findUsersByEmail(profile.email) : [])];
  const own = candidates.find((u) => u?.attributes.upstreamUserId?.[0] === profile.id);
  if (own) return found(own.id);
  // Another account holds one of the member's identifiers: a person has to sort that out (support).
  deps.logger.warn({ event: 'upstream_login.identifier_taken', upstreamUserId: profile.id }, 'an upstream member collides with another account');
  return NONE;
}
