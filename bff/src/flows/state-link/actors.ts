import { createHash } from 'node:crypto';
import { fromPromise } from 'xstate';
import type { AccountService } from '../../accounts/account-service.ts';
import type { Identifier } from '../../accounts/identifiers.ts';
import { CUSTODIAN_TENANT } from '../../accounts/tenants.ts';
import { isDomainError } from '../../kernel/errors.ts';
import type { OtpService } from '../../otp/otp-service.ts';
import type { DirectoryUser, IdentityDirectory } from '../../ports/identity-directory.ts';
import type { UpstreamCore } from '../../ports/upstream-core.ts';
import type { UserChangeFeed } from '../../ports/user-change-feed.ts';
import { StepFailure, type ApplyInput, type LookupResult, type SessionTarget } from './state-link.machine.ts';

/** What the state link's effects need (the composition root passes them through wire.ts). */
export interface StateLinkEffectDeps {
  directory: Pick<IdentityDirectory, 'findUsersByAttribute' | 'organizationsOf' | 'updateUser' | 'getUser'>;
  /** The upstream core's record of the phone, when no account here has it (an upstream-only member, or a deleted account's profile). */
  upstream: Pick<UpstreamCore, 'findUser'>;
  /** Whether Keycloak recorded an account's deletion (a deleted account is refused, not remade: seed 002). */
  deletedAccounts: Pick<UserChangeFeed, 'wasDeleted'>;
  otp: Pick<OtpService, 'send' | 'verify' | 'consume'>;
  accounts: Pick<AccountService, 'create' | 'updateProfile'>;
  /**
   * Signs the account into Keycloak's authentication session: a sign-up sign-in ticket (decision 0027)
   * for the session's tab, and Keycloak's continue URL that redeems it.
   */
  signIn(userId: string, target: SessionTarget): Promise<string>;
}

const PURPOSE = 'state-link';
const phoneOf = (phone: string): Identifier => ({ kind: 'phone', value: phone });
const phoneVerified = (user: DirectoryUser, phone: string) => user.attributes.phone?.[0] === phone && user.attributes.phoneVerified?.[0] === 'true';

function stepFailure(err: unknown): StepFailure {
  if (isDomainError(err)) {
    if (err.code === 'RATE_LIMITED') return new StepFailure('rate-limited', Number(err.details.retryAfterSeconds) || null);
    if (err.code === 'VALIDATION_FAILED' && err.fields.some((f) => f.field === 'code')) return new StepFailure('code-invalid');
    if (err.code === 'DELIVERY_FAILED') return new StepFailure('delivery-failed');
    if (err.code === 'ACCOUNT_EXISTS') return new StepFailure('taken');
  }
  return new StepFailure('unavailable');
}

/**
 * Who the link's person is (decision 0039), resolved on the server, in this order:
 * 1. the account of the state's tenant with this `stateUserId`: closed -> refused; this phone verified
 *    -> signed in; else its phone is verified by a code first (seed 002 case 2);
 * 2. accounts holding the phone: a closed one -> refused (seed 002: "user creation will fail"); an
 *    enabled one of the tenant -> as in 1 (another state id on it: refused, `mismatch`); an enabled
 *    custodian account -> the claim (Flow 2); one of another tenant holding it proven -> refused
 *    (`elsewhere`); held only unproven -> a new account, which takes it (decision 0021);
 * 3. no account here has it: the upstream core's record of the phone decides: an active upstream-only
 *    member -> the claim (a custodian account not yet migrated); an inactive one, or the profile of
 *    an account that was deleted or is disabled -> refused (`closed`; seed 002: a deleted user's
 *    creation fails);
 * 4. nobody: a new account after the code.
 */
export async function lookup(
  deps: Pick<StateLinkEffectDeps, 'directory' | 'upstream' | 'deletedAccounts'>,
  input: { tenant: string; stateUserId: string; phone: string },
): Promise<LookupResult> {
  const { directory } = deps;
  const inTenant = async (user: DirectoryUser) => (await directory.organizationsOf(user.id)).some((o) => o.alias === input.tenant);
  const known = (user: DirectoryUser): LookupResult => {
    if (!user.enabled) return { kind: 'refused', refusal: 'closed' };
    return phoneVerified(user, input.phone) ? { kind: 'signed-in', userId: user.id } : { kind: 'verify-phone', userId: user.id };
  };
  for (const user of await directory.findUsersByAttribute('stateUserId', input.stateUserId)) {
    if (user.attributes.stateUserId?.[0] === input.stateUserId && (await inTenant(user))) return known(user);
  }
  const holders = (await directory.findUsersByAttribute('phone', input.phone)).filter((u) => u.attributes.phone?.[0] === input.phone);
  if (holders.some((u) => !u.enabled)) return { kind: 'refused', refusal: 'closed' };
  for (const user of holders) {
    const orgs = (await directory.organizationsOf(user.id)).map((o) => o.alias);
    if (orgs.includes(input.tenant)) {
      const other = user.attributes.stateUserId?.[0];
      return other && other !== input.stateUserId ? { kind: 'refused', refusal: 'mismatch' } : known(user);
    }
    if (orgs.includes(CUSTODIAN_TENANT) || orgs.length === 0) return { kind: 'claim' };
    if (phoneVerified(user, input.phone)) return { kind: 'refused', refusal: 'elsewhere' };
  }
  if (holders.length > 0) return { kind: 'new' };
  const profile = await deps.upstream.findUser({ phone: input.phone });
  if (!profile) return { kind: 'new' };
  if (profile.externalId) {
    const account = await directory.getUser(profile.externalId);
    if (account) return account.enabled ? { kind: 'new' } : { kind: 'refused', refusal: 'closed' };
    if (await deps.deletedAccounts.wasDeleted(profile.externalId)) return { kind: 'refused', refusal: 'closed' };
  }
  return profile.status === 'active' ? { kind: 'claim' } : { kind: 'refused', refusal: 'closed' };
}

/** The code checked, then the phone marked verified on the found account, or the new account made with it. */
export async function verifyAndApply(deps: Pick<StateLinkEffectDeps, 'otp' | 'accounts' | 'directory'>, input: ApplyInput): Promise<{ userId: string }> {
  const phone = phoneOf(input.phone);
  const { proof } = await deps.otp.verify({ identifier: phone, purpose: PURPOSE, code: input.code, ip: input.ip });
  if (input.mode === 'verify-phone') {
    const userId = input.userId!;
    // The phone goes on the account verified (upstream profile first); the proof is spent by it.
    await deps.accounts.updateProfile(userId, { phone: input.phone }, { prove: () => deps.otp.consume(proof, phone, PURPOSE, 'code') });
    await deps.directory.updateUser(userId, { attributes: { stateUserId: [input.stateUserId] } });
    return { userId };
  }
  const created = await deps.accounts.create(
    {
      // The state sends one name; the username rule makes it `md_manzarul_haque0098` (seed 002).
      firstName: input.name,
      phone: input.phone,
      phoneVerified: true,
      emailVerified: false,
      signUpType: 'state',
      stateUserId: input.stateUserId,
      tenant: input.tenant,
      locale: input.language,
    },
    // The proof names this creation: a retry after a lost answer finds the same account.
    { idempotencyKey: `state-link:${createHash('sha256').update(proof).digest('base64url')}` },
  );
  await deps.otp.consume(proof, phone, PURPOSE, 'code');
  return { userId: created.userId };
}

/** The effects, as the machine's actors (errors a page shows become `StepFailure`). */
export function stateLinkActors(deps: StateLinkEffectDeps) {
  const failing =
    <I, O>(run: (input: I) => Promise<O>) =>
    async ({ input }: { input: I }) => {
      try {
        return await run(input);
      } catch (err) {
        throw stepFailure(err);
      }
    };
  return {
    lookup: fromPromise(failing((input: { tenant: string; stateUserId: string; phone: string }) => lookup(deps, input))),
    sendCode: fromPromise(
      failing(async (input: { phone: string; language: 'en' | 'hi'; ip: string }) => {
        await deps.otp.send({ identifier: phoneOf(input.phone), purpose: PURPOSE, ip: input.ip, language: input.language });
      }),
    ),
    verifyAndApply: fromPromise(failing((input: ApplyInput) => verifyAndApply(deps, input))),
    signIn: fromPromise(failing(async (input: { userId: string; target: SessionTarget }) => ({ continueUrl: await deps.signIn(input.userId, input.target) }))),
  };
}
