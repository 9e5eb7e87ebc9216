import { fromPromise } from 'xstate';
import type { AccountService } from '../../accounts/account-service.ts';
import { maskIdentifier } from '../../accounts/identifiers.ts';
import type { FieldEncryption } from '../../kernel/crypto/field-encryption.ts';
import { DomainError, isDomainError } from '../../kernel/errors.ts';
import type { Identifier, OtpPurpose } from '../../otp/verification-proofs.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';
import type { UpstreamCore } from '../../ports/upstream-core.ts';
import type { UserTokens } from '../../ports/user-tokens.ts';
import { StepFailure, type MigrationInput, type PasswordCheck, type MigrationResult, type SealedIdentifier, type StateIdentity } from './state-claim.machine.ts';

export const CUSTODIAN_TENANT = 'custodian';
const PURPOSE: OtpPurpose = 'state-claim';
const IDENTIFIER_AAD = 'state-claim:identifier';

/** Seals identifiers for the flow's snapshot; masks them for the pages and the audit. */
export class IdentifierSeal {
  readonly #encryption: FieldEncryption;
  constructor(encryption: FieldEncryption) {
    this.#encryption = encryption;
  }
  seal(identifier: Identifier): SealedIdentifier {
    return { sealed: this.#encryption.seal(JSON.stringify(identifier), IDENTIFIER_AAD), masked: mask(identifier), kind: identifier.kind };
  }
  open(sealed: SealedIdentifier): Identifier {
    return JSON.parse(this.#encryption.open(sealed.sealed, IDENTIFIER_AAD)) as Identifier;
  }
}

/** `a•••@example.com`, `+91••••••••01`: one masking for the pages, the audits and the messages. */
export const mask: (identifier: Identifier) => string = maskIdentifier;

export interface StateClaimEffectDeps {
  seal: IdentifierSeal;
  otp: {
    send(req: { identifier: Identifier; purpose: OtpPurpose; ip: string }): Promise<unknown>;
    verify(req: { identifier: Identifier; purpose: OtpPurpose; code: string; ip: string }): Promise<{ proof: string }>;
    consume(proof: string, identifier: Identifier, purpose: OtpPurpose, field: string): Promise<void>;
  };
  directory: IdentityDirectory;
  userTokens: UserTokens;
  upstream: UpstreamCore;
  accounts: AccountService;
}

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

/**
 * The enabled account in the custodian tenant holding exactly this (normalised) identifier, and
 * whether it has an authenticator app (then the password check needs its code too).
 */
export async function findCustodianAccount(directory: IdentityDirectory, identifier: Identifier): Promise<{ userId: string; secondFactor: boolean } | null> {
  const candidates =
    identifier.kind === 'email'
      ? (await directory.findUsersByEmail(identifier.value)).filter((u) => u.email?.toLowerCase() === identifier.value)
      : (await directory.findUsersByAttribute('phone', identifier.value)).filter((u) => u.attributes.phone?.[0] === identifier.value);
  for (const user of candidates.filter((u) => u.enabled)) {
    const orgs = await directory.organizationsOf(user.id);
    if (orgs.some((o) => o.alias === CUSTODIAN_TENANT)) return { userId: user.id, secondFactor: (await directory.credentialTypes(user.id)).includes(AUTHENTICATOR_APP) };
  }
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
    sendCode: fromPromise<void, { identifier: SealedIdentifier; ip: string }>(async ({ input }) => {
      await deps.otp.send({ identifier: deps.seal.open(input.identifier), purpose: PURPOSE, ip: input.ip }).catch((err: unknown) => {
        throw stepFailure(err);
      });
    }),
    verifyCode: fromPromise<void, { identifier: SealedIdentifier; code: string; ip: string }>(async ({ input }) => {
      const identifier = deps.seal.open(input.identifier);
      try {
        const { proof } = await deps.otp.verify({ identifier, purpose: PURPOSE, code: input.code, ip: input.ip });
        await deps.otp.consume(proof, identifier, PURPOSE, 'code');
      } catch (err) {
        throw stepFailure(err);
      }
    }),
    findCustodianAccount: fromPromise<{ userId: string; secondFactor: boolean } | null, { identifier: SealedIdentifier }>(({ input }) =>
      findCustodianAccount(deps.directory, deps.seal.open(input.identifier)),
    ),
    checkPassword: fromPromise<PasswordCheck, { userId: string; password: string; otp: string | null }>(async ({ input }) => {
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
    migrate: fromPromise<MigrationResult, MigrationInput>(({ input }) => migrate(deps, input)),
  };
}

/**
 * The migration, idempotent step by step (a retry after a failure or a restart redoes what is left):
 * - claim: the upstream profile first (if the core is down nothing in Keycloak changed yet), then the
 *   account's SSO details, state tenant in, custodian tenant out. Same user id.
 * - new (refuted, two wrong passwords, no match): the custodian account is stripped of the identifier
 *   (kept in `retiredIdentifiers`) and disabled, upstream first, BEFORE the new account is created,
 *   so the identifier is never on two enabled accounts; the new account is created by AccountService
 *   with an idempotency key of this flow, so a retry never makes a second one.
 */
export async function migrate(deps: StateClaimEffectDeps, input: MigrationInput): Promise<MigrationResult> {
  const { identity } = input;
  if (input.decision === 'resume') {
    // Migrated by an earlier flow of this state identity: nothing to apply, only the sign-in to finish.
    const user = await deps.directory.getUser(input.matchUserId!);
    if (!user?.enabled) throw new DomainError('CONFLICT', 'The migrated account is gone or disabled', { details: { reason: 'migrated_account_unavailable' } });
    return { userId: user.id, created: false };
  }
  const identifier = deps.seal.open(input.identifier!);
  if (input.decision === 'claim') {
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
    return { userId, created: false };
  }

  if (input.matchUserId) await strip(deps, input.matchUserId, identifier);
  const created = await deps.accounts.create(
    {
      firstName: identity.firstName ?? identity.brokeredUsername ?? 'Member',
      ...(identity.lastName ? { lastName: identity.lastName } : {}),
      ...(identifier.kind === 'email' ? { email: identifier.value } : { phone: identifier.value }),
      emailVerified: identifier.kind === 'email',
      phoneVerified: identifier.kind === 'phone',
      signUpType: 'state',
      tenant: input.tenant,
    },
    { idempotencyKey: `state-claim:${input.flowId}` },
  );
  await deps.directory.updateUser(created.userId, {
    attributes: { stateSubject: [stateSubject(identity)], ...(identity.stateUserId ? { stateUserId: [identity.stateUserId] } : {}) },
  });
  if (input.otherIdentifier) await addAssertedPhone(deps, created.userId, created.upstreamUserId, deps.seal.open(input.otherIdentifier));
  return { userId: created.userId, created: true };
}

async function strip(deps: StateClaimEffectDeps, userId: string, identifier: Identifier): Promise<void> {
  const user = await deps.directory.getUser(userId);
  if (!user) return;
  const retired = `${identifier.kind}:${identifier.value}`;
  const upstreamUserId = user.attributes.upstreamUserId?.[0];
  if (upstreamUserId) {
    const profile = await deps.upstream.getUser(upstreamUserId);
    if (profile && profile[identifier.kind] === identifier.value) await deps.upstream.updateProfile(upstreamUserId, { [identifier.kind]: null });
    if (profile?.status === 'active') await deps.upstream.deactivateUser(upstreamUserId);
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
