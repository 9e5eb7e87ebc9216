import { fromPromise } from 'xstate';
import type { AccountService } from '../../accounts/account-service.ts';
import { maskIdentifier, type Identifier } from '../../accounts/identifiers.ts';
import { CUSTODIAN_TENANT } from '../../accounts/tenants.ts';
import { generateUsername, USERNAME_PATTERN } from '../../accounts/username.ts';
import { bindSeal, type BoundSeal } from '../../kernel/crypto/bound-seal.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { passwordIssue } from '../../accounts/password-rules.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';
import type { Language } from '../../kernel/languages.ts';
import type { OtpPurpose } from '../../otp/verification-proofs.ts';
import type { DirectoryUser, IdentityDirectory } from '../../ports/identity-directory.ts';
import type { UpstreamCore, UpstreamUser, UserLookup } from '../../ports/upstream-core.ts';
import type { UserChangeFeed } from '../../ports/user-change-feed.ts';
import type { UserTokens } from '../../ports/user-tokens.ts';
import {
  StepFailure,
  type CodeInput,
  type CodePurpose,
  type Holder,
  type MigrationInput,
  type MigrationResult,
  type NewPasswordInput,
  type PasswordCheck,
  type PasswordInput,
  type SealedIdentifier,
  type StateIdentity,
} from './state-claim.machine.ts';

/** The OTP service's purpose of each code of the claim: its own counters, code and mail text (decision 0030). */
const PURPOSES: Record<CodePurpose, OtpPurpose> = { identifier: 'state-claim', recovery: 'state-claim-recovery' };

/** Seals identifiers for the flow's snapshot; masks them for the pages and the audit. */
export class IdentifierSeal {
  readonly #identifiers: BoundSeal<Identifier, []>;
  constructor(encryption: FieldEncryption) {
    // Bound to its use only: it travels in events and effect inputs, and rests inside the flow's
    // snapshot, which the runtime seals bound to the flow.
    this.#identifiers = bindSeal<Identifier, []>(encryption, 'json', () => 'state-claim:identifier');
  }
  seal(identifier: Identifier): SealedIdentifier {
    return { sealed: this.#identifiers.seal(identifier), masked: maskIdentifier(identifier), kind: identifier.kind };
  }
  open(sealed: SealedIdentifier): Identifier {
    return this.#identifiers.open(sealed.sealed);
  }
}

export interface StateClaimEffectDeps {
  seal: IdentifierSeal;
  otp: {
    send(req: { identifier: Identifier; purpose: OtpPurpose; ip: string; language: Language }): Promise<unknown>;
    verify(req: { identifier: Identifier; purpose: OtpPurpose; code: string; ip: string }): Promise<{ proof: string }>;
    consume(proof: string, identifier: Identifier, purpose: OtpPurpose, field: string): Promise<void>;
  };
  directory: IdentityDirectory;
  userTokens: UserTokens;
  upstream: UpstreamCore;
  accounts: AccountService;
  /** Whether Keycloak recorded an account's deletion: a member whose stale link names one is not claimed. */
  deletedAccounts: Pick<UserChangeFeed, 'wasDeleted'>;
}

/** What `findHolder` needs. */
type HolderDeps = Pick<StateClaimEffectDeps, 'directory' | 'upstream' | 'deletedAccounts'>;

function stepFailure(err: unknown): StepFailure {
  if (isDomainError(err)) {
    if (err.code === 'RATE_LIMITED') return new StepFailure('rate-limited', Number(err.details.retryAfterSeconds) || null);
    if (err.code === 'VALIDATION_FAILED') return new StepFailure('code-invalid');
    if (err.code === 'DELIVERY_FAILED') return new StepFailure('delivery-failed');
  }
  return new StepFailure('unavailable');
}

/** Keycloak's credential type of an authenticator app (TOTP/HOTP). */
const AUTHENTICATOR_APP = 'otp';

/** The Keycloak accounts holding exactly this (normalised) identifier, enabled or not. */
async function accountsHolding(directory: IdentityDirectory, identifier: Identifier): Promise<DirectoryUser[]> {
  return identifier.kind === 'email'
    ? (await directory.findUsersByEmail(identifier.value)).filter((u) => u.email?.toLowerCase() === identifier.value)
    : (await directory.findUsersByAttribute('phone', identifier.value)).filter((u) => u.attributes.phone?.[0] === identifier.value);
}

/** Whether `user` holds the identifier proven (a verified e-mail or phone). */
const holdsProven = (user: DirectoryUser, identifier: Identifier) =>
  identifier.kind === 'email' ? user.emailVerified : user.attributes.phoneVerified?.[0] === 'true';

const lookupOf = (identifier: Identifier): UserLookup => (identifier.kind === 'email' ? { email: identifier.value } : { phone: identifier.value });

/**
 * How an upstream profile holding the identifier stands:
 * - `linked`: its platform account exists, is enabled and holds the identifier too (that account decides);
 * - `claimable`: an active member without a platform account: never migrated (`externalId` null), or
 *   linked to an account that is gone without Keycloak having recorded its deletion (decision 0012);
 * - `closed`: inactive, or linked to a disabled or deleted account;
 * - `drift`: linked to an enabled account that does not hold the identifier (the core is behind).
 */
async function profileStanding(deps: HolderDeps, profile: UpstreamUser, identifier: Identifier): Promise<'linked' | 'claimable' | 'closed' | 'drift'> {
  if (profile.externalId) {
    const account = await deps.directory.getUser(profile.externalId);
    if (account) {
      if (!account.enabled) return 'closed';
      return (await accountsHolding(deps.directory, identifier)).some((u) => u.id === account.id) ? 'linked' : 'drift';
    }
    if (await deps.deletedAccounts.wasDeleted(profile.externalId)) return 'closed';
  }
  return profile.status === 'active' ? 'claimable' : 'closed';
}

/**
 * Who holds this (normalised) identifier, resolved on the server; the outcome of each case is the
 * table in README.md ("Who holds the identifier") and decision 0011. In this order:
 * 1. an enabled custodian account: the claim (with its authenticator app noted);
 * 2. an enabled account of another tenant holding it proven: `elsewhere` (one holding it unproven
 *    loses it to the new account instead, decision 0019);
 * 3. an active upstream-only member: the claim, with its upstream password;
 * 4. only closed holders (disabled accounts, inactive or orphaned members): `closed`;
 * 5. else nobody the new account has to wait for.
 */
export async function findHolder(deps: HolderDeps, identifier: Identifier): Promise<Holder | null> {
  const accounts = await accountsHolding(deps.directory, identifier);
  const enabled = accounts.filter((u) => u.enabled);
  for (const user of enabled) {
    const orgs = await deps.directory.organizationsOf(user.id);
    if (orgs.some((o) => o.alias === CUSTODIAN_TENANT)) {
      return {
        kind: 'account',
        userId: user.id,
        secondFactor: (await deps.directory.credentialTypes(user.id)).includes(AUTHENTICATOR_APP),
        proven: holdsProven(user, identifier),
      };
    }
  }
  if (enabled.some((u) => holdsProven(u, identifier))) return { kind: 'elsewhere' };
  const profile = await deps.upstream.findUser(lookupOf(identifier));
  const standing = profile ? await profileStanding(deps, profile, identifier) : null;
  if (profile && standing === 'claimable') return { kind: 'member', memberId: profile.id };
  if (accounts.some((u) => !u.enabled) || standing === 'closed') return { kind: 'closed' };
  return null;
}

/** Marks an account as migrated for a state identity (attribute `stateSubject`, admin-only). */
export const stateSubject = (identity: Pick<StateIdentity, 'identityProvider' | 'brokeredUserId'>) => `${identity.identityProvider}:${identity.brokeredUserId}`;

export function stateClaimActors(deps: StateClaimEffectDeps) {
  return {
    findMigratedAccount: fromPromise<{ userId: string } | null, { identity: StateIdentity }>(async ({ input }) => {
      const found = (await deps.directory.findUsersByAttribute('stateSubject', stateSubject(input.identity))).find((u) => u.enabled);
      return found ? { userId: found.id } : null;
    }),
    sendCode: fromPromise<void, CodeInput>(async ({ input }) => {
      const request = { identifier: deps.seal.open(input.identifier), purpose: PURPOSES[input.purpose], ip: input.ip, language: input.language };
      await deps.otp.send(request).catch((err: unknown) => {
        throw stepFailure(err);
      });
    }),
    verifyCode: fromPromise<void, { identifier: SealedIdentifier; purpose: CodePurpose; code: string; ip: string }>(async ({ input }) => {
      const identifier = deps.seal.open(input.identifier);
      const purpose = PURPOSES[input.purpose];
      try {
        const { proof } = await deps.otp.verify({ identifier, purpose, code: input.code, ip: input.ip });
        await deps.otp.consume(proof, identifier, purpose, 'code');
      } catch (err) {
        throw stepFailure(err);
      }
    }),
    findHolder: fromPromise<Holder | null, { identifier: SealedIdentifier }>(({ input }) => findHolder(deps, deps.seal.open(input.identifier))),
    checkPassword: fromPromise<PasswordCheck, PasswordInput>(async ({ input }) => {
      if (input.memberId) return checkMemberPassword(deps, input.memberId, deps.seal.open(input.identifier), input.password);
      if (!input.userId) return 'invalid';
      const user = await deps.directory.getUser(input.userId).catch((err: unknown) => {
        throw stepFailure(err);
      });
      if (!user?.enabled) return 'invalid';
      try {
        // Keycloak would refuse the right password without the app's code, and a refusal counts as
        // a wrong password: two of them would close the person's own account. So ask for the code.
        if (input.otp === null && (await deps.directory.credentialTypes(user.id)).includes(AUTHENTICATOR_APP)) return 'second-factor-required';
        // Keycloak checks the password (and the code) of the account the server resolved (its
        // brute-force protection counts this too); the session it opens is ended at once.
        const tokens = await deps.userTokens.passwordGrant(user.username, input.password, input.otp ?? undefined);
        await deps.userTokens.endSession(tokens.refreshToken).catch(() => undefined);
        return 'valid';
      } catch (err) {
        // A pending required action (e.g. an e-mail change waiting for its link): the password was right.
        if (isDomainError(err) && err.code === 'UNAUTHENTICATED') return err.details.reason === 'account_action_required' ? 'valid' : 'invalid';
        throw stepFailure(err);
      }
    }),
    setNewPassword: fromPromise<'valid' | 'invalid', NewPasswordInput>(({ input }) => setNewPassword(deps, input)),
    migrate: fromPromise<MigrationResult, MigrationInput>(({ input }) => migrate(deps, input)),
  };
}

/**
 * The recovered account's new password (decision 0030): the code to its identifier proved the account,
 * as Keycloak's own reset link would. Keycloak checks the realm's policy when it is set (Admin API);
 * the rules it can be told before are checked here first. An account with an authenticator app keeps
 * it: its code is checked with the new password (`invalid`: saved, the code was wrong), so a recovery
 * asks no less than the password page. Nothing is set when the code is missing or a rule is broken.
 */
async function setNewPassword(deps: StateClaimEffectDeps, input: NewPasswordInput): Promise<'valid' | 'invalid'> {
  try {
    const user = await deps.directory.getUser(input.userId);
    if (!user?.enabled) throw new StepFailure('unavailable');
    if (passwordIssue(input.password, user.email)) throw new StepFailure('password-policy');
    const secondFactor = (await deps.directory.credentialTypes(user.id)).includes(AUTHENTICATOR_APP);
    if (secondFactor && input.otp === null) throw new StepFailure('code-required');
    await deps.directory.setPassword(user.id, input.password);
    if (!secondFactor) return 'valid';
    const tokens = await deps.userTokens.passwordGrant(user.username, input.password, input.otp ?? undefined);
    await deps.userTokens.endSession(tokens.refreshToken).catch(() => undefined);
    return 'valid';
  } catch (err) {
    if (err instanceof StepFailure) throw err;
    if (isDomainError(err) && err.code === 'UNAUTHENTICATED') return err.details.reason === 'account_action_required' ? 'valid' : 'invalid';
    if (isDomainError(err) && err.code === 'VALIDATION_FAILED' && err.fields.some((f) => f.field === 'password')) {
      // Keycloak's sentence is never shown; only which of our messages fits (passwordHistory: "last N passwords").
      throw new StepFailure(err.fields.some((f) => /last \d+ passwords|history/i.test(f.message)) ? 'password-reused' : 'password-policy');
    }
    throw stepFailure(err);
  }
}

/**
 * An upstream-only member's password, checked by the core with the verified identifier as the login
 * (the core answers unknown, wrong and member-without-password alike). Valid only for that member.
 * A right password of a member that became inactive meanwhile counts as wrong: it cannot be claimed.
 */
async function checkMemberPassword(deps: StateClaimEffectDeps, memberId: string, identifier: Identifier, password: string): Promise<PasswordCheck> {
  try {
    const check = await deps.upstream.verifyPassword(identifier.value, password);
    return check.outcome === 'valid' && check.user.id === memberId ? 'valid' : 'invalid';
  } catch (err) {
    throw stepFailure(err);
  }
}

/**
 * The migration, idempotent step by step (a retry after a failure or a restart redoes what is left):
 * - claim of a custodian account: the upstream profile first (if the core is down nothing in Keycloak
 *   changed yet), then the account's SSO details, state tenant in, custodian tenant out. Same user id.
 *   An account without an upstream link gets its profile made and linked (`ensureProvisioned`).
 * - claim of an upstream-only member: imported into the state tenant (`claimMember`), one record.
 * - new (refuted, two wrong passwords, no match, closed holders): the matched custodian account is
 *   stripped of the identifier (kept in `retiredIdentifiers`) and disabled, a matched upstream-only
 *   member loses it and is deactivated, and every closed holder loses it (`releaseClosedHolders`),
 *   upstream first, BEFORE the new account is created, so the identifier is never on two enabled
 *   accounts; the new account is created by AccountService with an idempotency key of this flow, so
 *   a retry never makes a second one. Without an identifier (`held-elsewhere`) nobody is touched.
 */
export async function migrate(deps: StateClaimEffectDeps, input: MigrationInput): Promise<MigrationResult> {
  const { identity } = input;
  if (input.decision === 'resume') {
    // Migrated by an earlier flow of this state identity: nothing to apply, only the sign-in to finish.
    const user = await deps.directory.getUser(input.matchUserId!);
    if (!user?.enabled) throw new DomainError('CONFLICT', 'The migrated account is gone or disabled', { details: { reason: 'migrated_account_unavailable' } });
    return { userId: user.id, created: false };
  }
  const identifier = input.identifier ? deps.seal.open(input.identifier) : null;
  if (input.decision === 'claim') {
    if (input.matchMemberId) return withTenantName(deps, await claimMember(deps, input.matchMemberId, identifier!, input), input.tenant);
    const userId = input.matchUserId!;
    const user = await deps.directory.getUser(userId);
    if (!user) throw new DomainError('NOT_FOUND', 'The account to claim no longer exists');
    const firstName = identity.firstName ?? user.firstName ?? user.username;
    const lastName = identity.lastName ?? user.lastName ?? null;
    const upstreamUserId = user.attributes.upstreamUserId?.[0];
    if (upstreamUserId) await deps.upstream.updateProfile(upstreamUserId, { firstName, lastName });
    await deps.directory.updateUser(userId, {
      firstName,
      ...(lastName ? { lastName } : {}),
      attributes: { stateSubject: [stateSubject(identity)], ...(identity.stateUserId ? { stateUserId: [identity.stateUserId] } : {}) },
    });
    await deps.directory.addToOrganization(userId, input.tenant);
    await deps.directory.removeFromOrganization(userId, CUSTODIAN_TENANT);
    if (!upstreamUserId) await deps.accounts.ensureProvisioned(userId, { signUpType: 'state', tenant: input.tenant });
    return withTenantName(deps, { userId, created: false }, input.tenant);
  }

  const released: string[] = [];
  let match: MigrationResult['match'];
  if (identifier) {
    if (input.matchUserId) match = (await stripRefuted(deps, input.matchUserId, identifier)) ? 'closed' : 'kept';
    if (input.matchMemberId) {
      await stripMember(deps, input.matchMemberId, identifier);
      match = 'closed';
    }
    released.push(...(await releaseClosedHolders(deps, identifier)));
  }
  const created = await deps.accounts.create(
    {
      firstName: identity.firstName ?? identity.brokeredUsername ?? 'Member',
      ...(identity.lastName ? { lastName: identity.lastName } : {}),
      ...(identifier?.kind === 'email' ? { email: identifier.value } : identifier?.kind === 'phone' ? { phone: identifier.value } : {}),
      emailVerified: identifier?.kind === 'email',
      phoneVerified: identifier?.kind === 'phone',
      signUpType: 'state',
      tenant: input.tenant,
      ...(input.language ? { locale: input.language } : {}),
    },
    { idempotencyKey: `state-claim:${input.flowId}` },
  );
  await deps.directory.updateUser(created.userId, {
    attributes: { stateSubject: [stateSubject(identity)], ...(identity.stateUserId ? { stateUserId: [identity.stateUserId] } : {}) },
  });
  if (input.otherIdentifier) await addAssertedPhone(deps, created.userId, created.upstreamUserId, deps.seal.open(input.otherIdentifier));
  return withTenantName(
    deps,
    { userId: created.userId, created: true, ...(released.length > 0 ? { released } : {}), ...(match ? { match } : {}) },
    input.tenant,
  );
}

/** The state tenant's name as Keycloak's organization has it, for the page that says what was done. */
async function withTenantName(deps: StateClaimEffectDeps, result: MigrationResult, tenant: string): Promise<MigrationResult> {
  const name = (await deps.directory.organizationsOf(result.userId)).find((o) => o.alias === tenant)?.name;
  return name ? { ...result, tenantName: name } : result;
}

/** The upstream profile of a platform account: by its link, or by `externalId` when the link is missing. */
async function profileOf(deps: StateClaimEffectDeps, user: DirectoryUser): Promise<UpstreamUser | null> {
  const upstreamUserId = user.attributes.upstreamUserId?.[0];
  return upstreamUserId ? deps.upstream.getUser(upstreamUserId) : deps.upstream.getUserByExternalId(user.id);
}

/**
 * The refuted (or not proven) custodian account: holding the identifier proven, it is stripped and
 * disabled (true) (SPEC Flow 2: two people proved it, the state vouches for this one). Holding it unproven,
 * it is left alone here: the account creation takes it from it (decision 0019: the holder keeps its
 * account, loses the identifier, is told) — an unconfirmed address never costs anyone their account.
 */
async function stripRefuted(deps: StateClaimEffectDeps, userId: string, identifier: Identifier): Promise<boolean> {
  const user = await deps.directory.getUser(userId);
  if (!user || !(!user.enabled || holdsProven(user, identifier))) return false;
  await strip(deps, userId, identifier);
  return true;
}

/** The account loses the identifier (kept in its history) and is disabled; its upstream profile too. */
async function strip(deps: StateClaimEffectDeps, userId: string, identifier: Identifier): Promise<void> {
  const user = await deps.directory.getUser(userId);
  if (!user) return;
  const retired = `${identifier.kind}:${identifier.value}`;
  const profile = await profileOf(deps, user);
  if (profile && profile.status !== 'deleted') {
    if (profile[identifier.kind] === identifier.value) await deps.upstream.updateProfile(profile.id, { [identifier.kind]: null });
    if (profile.status === 'active') await deps.upstream.deactivateUser(profile.id);
  }
  const history = user.attributes.retiredIdentifiers ?? [];
  await deps.directory.updateUser(userId, {
    enabled: false,
    ...(identifier.kind === 'email' && user.email === identifier.value ? { email: null, emailVerified: false } : {}),
    attributes: {
      retiredIdentifiers: history.includes(retired) ? history : [...history, retired],
      ...(identifier.kind === 'phone' && user.attributes.phone?.[0] === identifier.value ? { phone: [], phoneVerified: [] } : {}),
    },
  });
}

/** The refuted (or not proven) upstream-only member loses the identifier and is deactivated, as a custodian account would be. */
async function stripMember(deps: StateClaimEffectDeps, memberId: string, identifier: Identifier): Promise<void> {
  const profile = await deps.upstream.getUser(memberId);
  if (!profile || profile.status === 'deleted') return;
  if (profile[identifier.kind] === identifier.value) await deps.upstream.updateProfile(memberId, { [identifier.kind]: null });
  if (profile.status === 'active') await deps.upstream.deactivateUser(memberId);
}

/**
 * Holders that cannot be signed in to lose the identifier to the new account, so it is not lost to
 * the person who proved it: every disabled Keycloak account holding it (stripped as above; it stays
 * disabled, the identifier kept in its `retiredIdentifiers`), and an upstream profile holding it that
 * is closed (inactive, linked to a disabled or deleted account) or behind its account (`drift`). An
 * active upstream-only member is never released here: it is claimed or refuted first. Idempotent.
 * Answers who lost it, for the audit.
 */
async function releaseClosedHolders(deps: StateClaimEffectDeps, identifier: Identifier): Promise<string[]> {
  const released: string[] = [];
  for (const user of await accountsHolding(deps.directory, identifier)) {
    if (user.enabled) continue;
    await strip(deps, user.id, identifier);
    released.push(`account:${user.id}`);
  }
  const profile = await deps.upstream.findUser(lookupOf(identifier));
  if (profile) {
    const standing = await profileStanding(deps, profile, identifier);
    if (standing === 'closed' || standing === 'drift') {
      await deps.upstream.updateProfile(profile.id, { [identifier.kind]: null });
      released.push(`member:${profile.id}`);
    }
  }
  return released;
}

/**
 * The claim of an upstream-only member whose upstream password the person just proved: one record,
 * imported straight into the state tenant (not first into custodian). The core is asked first (if it
 * is down, nothing changed). The Keycloak account is made disabled, found again by its
 * `upstreamUserId` when a retry comes after a failure, linked in the core (`replaces` a stale link,
 * compare-and-set), and enabled last. It holds the verified identifier (verified), the member's other
 * e-mail or phone unverified when nobody else has it (as lazy migration imports them, decision 0012),
 * and no password: the person signs in through the state IdP; Keycloak's login page still takes the
 * upstream password once and makes it the account's (decision 0012's first-password step).
 */
async function claimMember(deps: StateClaimEffectDeps, memberId: string, identifier: Identifier, input: MigrationInput): Promise<MigrationResult> {
  const { identity } = input;
  const profile = await deps.upstream.getUser(memberId);
  if (!profile || profile.status === 'deleted') throw new DomainError('NOT_FOUND', 'The member to claim no longer exists');
  const firstName = identity.firstName ?? profile.firstName;
  const lastName = identity.lastName ?? profile.lastName ?? null;
  const linked = profile.externalId ? await deps.directory.getUser(profile.externalId) : null;
  const earlier =
    linked ?? (await deps.directory.findUsersByAttribute('upstreamUserId', memberId)).find((u) => u.attributes.upstreamUserId?.[0] === memberId) ?? null;
  const userId = earlier?.id ?? (await importMember(deps, profile, identifier, firstName, lastName));
  await deps.upstream.updateProfile(memberId, { firstName, lastName });
  if (profile.externalId !== userId) await deps.upstream.linkExternalId(memberId, userId, profile.externalId ? { replaces: profile.externalId } : {});
  await deps.directory.addToOrganization(userId, input.tenant);
  await deps.directory.updateUser(userId, {
    enabled: true,
    firstName,
    ...(lastName ? { lastName } : {}),
    attributes: { stateSubject: [stateSubject(identity)], ...(identity.stateUserId ? { stateUserId: [identity.stateUserId] } : {}) },
  });
  return { userId, created: false };
}

/** The member's Keycloak account, disabled until `claimMember` finished. */
async function importMember(
  deps: StateClaimEffectDeps,
  profile: UpstreamUser,
  identifier: Identifier,
  firstName: string,
  lastName: string | null,
): Promise<string> {
  const free = async (other: Identifier) => (await accountsHolding(deps.directory, other)).length === 0;
  const email = identifier.kind === 'email' ? identifier.value : profile.email && (await free({ kind: 'email', value: profile.email })) ? profile.email : null;
  const phone = identifier.kind === 'phone' ? identifier.value : profile.phone && (await free({ kind: 'phone', value: profile.phone })) ? profile.phone : null;
  let username = profile.username && USERNAME_PATTERN.test(profile.username) ? profile.username : null;
  for (let attempt = 0; !username || (await deps.directory.findUserByUsername(username)); attempt++) {
    if (attempt >= 10) throw new DomainError('CONFLICT', 'No free username for the member', { details: { reason: 'username_unavailable' } });
    username = generateUsername(`${firstName} ${lastName ?? ''}`);
  }
  const { id } = await deps.directory.createUser({
    username,
    firstName,
    ...(lastName ? { lastName } : {}),
    ...(email ? { email, emailVerified: identifier.kind === 'email' } : {}),
    enabled: false,
    attributes: {
      upstreamUserId: [profile.id],
      signUpType: ['upstreamMigration'],
      ...(phone ? { phone: [phone], phoneVerified: [String(identifier.kind === 'phone')] } : {}),
    },
  });
  return id;
}

/**
 * The IdP's phone on the new account too (as Keycloak's own attribute mapper did before this flow),
 * but only where no other account holds it: a phone is never on two accounts. Idempotent.
 */
async function addAssertedPhone(deps: StateClaimEffectDeps, userId: string, upstreamUserId: string, phone: Identifier): Promise<void> {
  if (phone.kind !== 'phone') return;
  const others = (await deps.directory.findUsersByAttribute('phone', phone.value)).filter((u) => u.id !== userId);
  const upstreamHolder = await deps.upstream.findUser({ phone: phone.value });
  if (others.length > 0 || (upstreamHolder && upstreamHolder.id !== upstreamUserId)) return;
  if (!upstreamHolder) await deps.upstream.updateProfile(upstreamUserId, { phone: phone.value });
  await deps.directory.updateUser(userId, { attributes: { phone: [phone.value], phoneVerified: ['true'] } });
}
