import { createHash } from 'node:crypto';
import type { AccountService } from '../../accounts/account-service.ts';
import { normaliseEmail } from '../../accounts/identifiers.ts';
import { DomainError } from '../../kernel/errors.ts';
import { ttlMillis, type EphemeralStore } from '../../ports/ephemeral-store.ts';
import type { FederatedAccounts, SignInTokens } from '../../ports/federated-accounts.ts';
import type { GoogleIdentity, GoogleIdTokens } from '../../ports/google-id-tokens.ts';
import type { IdentityDirectory } from '../../ports/identity-directory.ts';
import type { UpstreamCore } from '../../ports/upstream-core.ts';
import type { Limit, RateLimiter } from '../../rate-limits/rate-limiter.ts';

/**
 * Native-app Google sign-in (issue 19 §2, seed 002's `verifyAndCreate`, decision 0037): the app holds
 * a Google id_token from Google's SDK; the BFF verifies it, signs in the account linked to that Google
 * identity or creates one (e-mail verified, no password, no mail, an upstream profile,
 * `signUpType=google`), and hands back Keycloak's tokens for it, which Keycloak issues only after
 * checking the same id_token itself (JWT authorization grant with the Google identity provider).
 *
 * What it never does: link an account that exists already by e-mail (SPEC: only Keycloak's
 * confirm-and-prove linking in the browser does), take an unproven e-mail from its account, or sign
 * in a disabled or closed account. Each refusal changes nothing.
 */
export interface GoogleNativeDeps {
  idTokens: GoogleIdTokens;
  federated: FederatedAccounts;
  directory: Pick<IdentityDirectory, 'getUser' | 'findUsersByEmail' | 'organizationsOf'>;
  upstream: Pick<UpstreamCore, 'findUser' | 'getUser' | 'getUserByExternalId'>;
  accounts: Pick<AccountService, 'create' | 'ensureProvisioned'>;
  /** Used id_tokens, shared by every BFF process (Redis). */
  replays: Pick<EphemeralStore, 'setIfAbsent'>;
  limits: { limiter: RateLimiter; perIp: Limit };
  /** The Keycloak identity-provider alias the Google identities are linked under (`google`, or `google-demo`). */
  identityProvider: string;
  /** Tenant of the accounts created here: the custodian. */
  defaultTenant: string;
}

export interface GoogleSignIn {
  /** `true`: this request created the account. */
  created: boolean;
  userId: string;
  tokens: SignInTokens;
}

const conflict = (reason: string, message: string) => new DomainError('CONFLICT', message, { details: { reason } });
const forbidden = (reason: string, message: string) => new DomainError('FORBIDDEN', message, { details: { reason } });

export async function signInWithGoogle(deps: GoogleNativeDeps, idToken: string, ip: string): Promise<GoogleSignIn> {
  await deps.limits.limiter.take({ ip }, deps.limits.perIp);
  const identity = await deps.idTokens.verify(idToken);
  await spend(deps.replays, idToken, identity.expiresAt);
  const email = identity.email ? normaliseEmail(identity.email) : '';
  if (!email || !identity.emailVerified) {
    throw forbidden('email_not_verified', 'Google does not vouch for an e-mail address of this Google account');
  }

  const linked = await deps.federated.findLinked(deps.identityProvider, identity.subject);
  const { userId, created } = linked ? { userId: linked, created: false } : await createAccount(deps, identity, email);
  await provision(deps, userId, created);
  return { created, userId, tokens: await deps.federated.signIn(idToken) };
}

/**
 * One use per id_token, across processes: a token seen before is refused until it expires (the key
 * lives as long as the token). Google's id_tokens carry no `jti`, so the key is the token's hash.
 * Spent before anything else is looked at, so two requests with the same token never both go on.
 */
async function spend(replays: GoogleNativeDeps['replays'], idToken: string, expiresAt: Date): Promise<void> {
  const key = `google-native:used:${createHash('sha256').update(idToken).digest('base64url')}`;
  const ms = Math.max(1_000, Math.ceil(expiresAt.getTime() - Date.now()) + 60_000);
  if (!(await replays.setIfAbsent(key, '1', ttlMillis(ms)))) {
    throw new DomainError('UNAUTHENTICATED', 'This id_token has been used already; get a new one from Google', { details: { reason: 'replayed' } });
  }
}

/** No account is linked to this Google identity: a new one, unless the e-mail is somebody's already. */
async function createAccount(deps: GoogleNativeDeps, identity: GoogleIdentity, email: string): Promise<{ userId: string; created: boolean }> {
  const holders = await deps.directory.findUsersByEmail(email);
  if (holders.some((a) => !a.enabled)) throw forbidden('account_disabled', 'The account with this e-mail address is disabled');
  if (holders.some((a) => !a.emailVerified)) {
    // Seed 002's open question: an old account whose address was never proven is not taken over,
    // not even by Google's proof (the browser flow's precedence rule would take the address away,
    // decision 0021; here nobody is in front of a page that could explain that). Nothing changes.
    throw conflict('email_unverified_account', 'An account has this e-mail address without having proven it: sign in to it and confirm the address');
  }
  if (holders.length === 1 && holders[0]?.attributes.signUpType?.[0] === 'google' && (await resumed(deps, identity, email, holders[0].id))) {
    return { userId: holders[0].id, created: false };
  }
  if (holders.length > 0) {
    throw conflict(
      'link_required',
      'An account has this e-mail address: sign in to it once with Google in the browser and confirm with its password to link it',
    );
  }
  const profile = await deps.upstream.findUser({ email });
  if (profile && profile.status !== 'active') throw forbidden('account_closed', 'The account with this e-mail address is closed');
  if (profile) throw conflict('link_required', 'A member has this e-mail address: sign in with the password first');

  const account = await create(deps, identity, email);
  await deps.federated.link(account.userId, { provider: deps.identityProvider, subject: identity.subject, username: email });
  return { userId: account.userId, created: account.created };
}

/** The one creation of this Google identity's account; a retry (a new id_token after an outage) resumes it. */
function create(deps: GoogleNativeDeps, identity: GoogleIdentity, email: string) {
  return deps.accounts.create(
    { ...namesOf(identity, email), email, emailVerified: true, phoneVerified: false, signUpType: 'google', tenant: deps.defaultTenant },
    { idempotencyKey: `google-native:${deps.identityProvider}:${identity.subject}` },
  );
}

/**
 * A Google account with this e-mail and no link: made by an earlier call for this same Google identity
 * whose link failed (Keycloak down between the two)? The creation's idempotency key says so: the
 * same key answers that account again; any other identity's call is refused by the taken e-mail before
 * anything is written. Then the link is made now.
 */
async function resumed(deps: GoogleNativeDeps, identity: GoogleIdentity, email: string, holderId: string): Promise<boolean> {
  let account: { userId: string };
  try {
    account = await create(deps, identity, email);
  } catch (err) {
    if (err instanceof DomainError && (err.code === 'ACCOUNT_EXISTS' || err.code === 'CONFLICT')) return false;
    throw err;
  }
  if (account.userId !== holderId) return false;
  await deps.federated.link(holderId, { provider: deps.identityProvider, subject: identity.subject, username: email });
  return true;
}

/** The linked account may sign in: enabled, its upstream profile not closed; provisioned (idempotent). */
async function provision(deps: GoogleNativeDeps, userId: string, created: boolean): Promise<void> {
  const user = await deps.directory.getUser(userId);
  if (!user) throw new DomainError('NOT_FOUND', 'The linked account is gone');
  if (!user.enabled) throw forbidden('account_disabled', 'This account is disabled');
  if (created) return;
  const upstreamUserId = user.attributes.upstreamUserId?.[0];
  const profile = upstreamUserId ? await deps.upstream.getUser(upstreamUserId) : await deps.upstream.getUserByExternalId(user.id);
  if (profile && profile.status !== 'active') throw forbidden('account_closed', 'This account is closed');
  const tenant = (await deps.directory.organizationsOf(user.id))[0]?.alias ?? deps.defaultTenant;
  await deps.accounts.ensureProvisioned(user.id, { signUpType: 'google', tenant });
}

function namesOf(identity: GoogleIdentity, email: string): { firstName: string; lastName?: string } {
  const firstName = (identity.givenName ?? identity.name ?? email.split('@')[0] ?? 'Google').slice(0, 100);
  return identity.familyName ? { firstName, lastName: identity.familyName.slice(0, 100) } : { firstName };
}
