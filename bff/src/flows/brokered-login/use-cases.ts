import type { AccountService, SignUpType } from '../../accounts/account-service.ts';
import { normaliseEmail } from '../../accounts/identifiers.ts';
import { DomainError } from '../../kernel/errors.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';
import type { UpstreamCore } from '../../ports/upstream-core.ts';

/**
 * What a login through Google (or its demo stand-in) may do, asked by Keycloak's
 * `platform-bff-check` authenticator (keycloak/providers) at two points:
 *
 * - `before-account`, in the first-broker-login flow before Keycloak creates or links an account:
 *   nothing is written yet, so refusing here leaves nothing behind.
 * - `after-login`, in the post-broker-login flow of every such login: the account exists and is
 *   linked; it is provisioned (upstream profile, tenant) idempotently, so a login that an outage
 *   interrupted is completed by the next try.
 *
 * Keycloak itself never links an existing account on a matching e-mail: its first-broker-login flow
 * (realm-config/realms/platform/authentication-flows) asks the person to confirm and to sign in to
 * that account. See docs/decisions/0008-brokered-login-provisioning.md.
 */
export type BrokeredLoginRequest =
  | { stage: 'before-account'; identityProvider: string; brokeredUserId: string; brokeredEmail?: string | null | undefined }
  | { stage: 'after-login'; identityProvider: string; brokeredUserId: string; brokeredEmail?: string | null | undefined; userId: string };

/** Why a login is refused; the login theme explains each (themes/platform/login/messages). */
export type Refusal =
  /** An account with this e-mail is disabled: Keycloak's own "account disabled" page. */
  | 'account-disabled'
  /** The upstream profile of this e-mail (or of this account) is no longer active: a closed account. */
  | 'account-closed'
  /** The e-mail belongs to a member Keycloak cannot link yet (e.g. upstream-only): sign in with the password first. */
  | 'sign-in-with-password';

export type Decision = { outcome: 'continue' } | { outcome: 'refuse'; reason: Refusal };

export interface BrokeredLoginDeps {
  directory: Pick<IdentityDirectory, 'getUser' | 'findUsersByEmail' | 'organizationsOf'>;
  upstream: Pick<UpstreamCore, 'findUser' | 'getUser' | 'getUserByExternalId'>;
  accounts: Pick<AccountService, 'ensureProvisioned' | 'yieldToProven'>;
  /** Tenant (organization alias) of people who arrive this way without one: the custodian. */
  defaultTenant: string;
}

/** The identity providers this flow serves, and the sign-up type of the accounts they create. */
const SIGN_UP_TYPES: Readonly<Record<string, SignUpType>> = { google: 'google', 'google-demo': 'google' };

const CONTINUE: Decision = { outcome: 'continue' };
const refuse = (reason: Refusal): Decision => ({ outcome: 'refuse', reason });

export async function decideBrokeredLogin(deps: BrokeredLoginDeps, request: BrokeredLoginRequest): Promise<Decision> {
  const signUpType = SIGN_UP_TYPES[request.identityProvider];
  if (!signUpType) {
    throw new DomainError('VALIDATION_FAILED', 'This identity provider is not handled here', {
      fields: [{ field: 'identityProvider', reason: 'not_supported', message: `One of ${Object.keys(SIGN_UP_TYPES).join(', ')}` }],
    });
  }
  return request.stage === 'before-account' ? beforeAccount(deps, request.brokeredEmail) : afterLogin(deps, request.userId, signUpType);
}

async function beforeAccount(deps: BrokeredLoginDeps, brokeredEmail: string | null | undefined): Promise<Decision> {
  const email = brokeredEmail ? normaliseEmail(brokeredEmail) : '';
  if (!email) return CONTINUE;
  // The provider's e-mail is trusted (verified): an account holding it unproven loses it first
  // (decision 0021), so Keycloak creates the person's account instead of asking them to sign in to
  // someone else's. An account holding it proven is left to Keycloak's confirm-and-prove linking.
  await deps.accounts.yieldToProven({ kind: 'email', value: email }, { provenBy: 'identity-provider' });
  const accounts = await deps.directory.findUsersByEmail(email);
  if (accounts.some((a) => !a.enabled)) return refuse('account-disabled');
  const profile = await deps.upstream.findUser({ email });
  if (!profile) return CONTINUE;
  if (profile.status !== 'active') return refuse('account-closed');
  // The profile of the account Keycloak will offer to link (after proof): fine. Any other live
  // profile with this e-mail would make provisioning a new account fail after Keycloak created it.
  if (profile.externalId !== null && accounts.some((a) => a.id === profile.externalId)) return CONTINUE;
  return refuse('sign-in-with-password');
}

async function afterLogin(deps: BrokeredLoginDeps, userId: string, signUpType: SignUpType): Promise<Decision> {
  const user = await deps.directory.getUser(userId);
  if (!user) {
    throw new DomainError('NOT_FOUND', 'No such account', { fields: [{ field: 'userId', reason: 'unknown', message: 'No account has this id' }] });
  }
  if (!user.enabled) return refuse('account-disabled');
  const upstreamUserId = user.attributes.upstreamUserId?.[0];
  const profile = upstreamUserId ? await deps.upstream.getUser(upstreamUserId) : await deps.upstream.getUserByExternalId(user.id);
  if (profile && profile.status !== 'active') return refuse('account-closed');
  // An account linking Google keeps its tenant; one created by this login joins the default one.
  const tenant = (await deps.directory.organizationsOf(user.id))[0]?.alias ?? deps.defaultTenant;
  await deps.accounts.ensureProvisioned(user.id, { signUpType, tenant });
  return CONTINUE;
}
