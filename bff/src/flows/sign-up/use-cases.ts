import type { AccountService } from '../../accounts/account-service.ts';
import { displayPhone, identifierOf, type Identifier } from '../../accounts/identifiers.ts';
import { type NewAccountChecksDeps, organisationIssues, usernameIssue } from '../../accounts/new-account-checks.ts';
import type { PasswordPolicy } from '../../accounts/password-policy.ts';
import { passwordPolicyIssues } from '../../accounts/password-policy.ts';
import { type UserTypeOption, userTypeIssue } from '../../accounts/user-types.ts';
import { parseInput } from '../../http/validation.ts';
import { DomainError, type FieldIssue, isDomainError } from '../../kernel/errors.ts';
import type { VerificationProofs } from '../../otp/verification-proofs.ts';
import type { SignUpLimits } from './limits.ts';
import { continueUrl, type KeycloakRealm } from './return-url.ts';
import { type CheckInput, checkBody, checkFields, type SignUpInput } from './schemas.ts';
import type { SignInTickets } from './sign-in-tickets.ts';

/**
 * Self sign-up (seed 002) as two use cases: no flow spans requests here (the code and its proof are
 * the OTP service's, the page keeps its own steps), so no machine.
 * - `checkDetails`: every problem with the details at once, before a code is sent (issue 17 §2);
 * - `signUp`: the proof makes the account, in Keycloak, the upstream core and the custodian tenant,
 *   all or nothing (AccountService), and, for a sign-up that came from an authorization request, a
 *   sign-in ticket to finish it signed in (decision 0027).
 */
export interface SignUpDeps {
  proofs: Pick<VerificationProofs, 'check'>;
  accounts: Pick<AccountService, 'create'>;
  limits: SignUpLimits;
  tickets: Pick<SignInTickets, 'mint'>;
  keycloak: KeycloakRealm;
  /** The realm's user types (accounts/user-types.ts, read from Keycloak and cached). */
  userTypes: () => Promise<UserTypeOption[]>;
}

export interface SignedUp {
  /** false: the identical request again after a failure half-way or a lost answer (the same account). */
  created: boolean;
  account: {
    userId: string;
    username: string;
    email?: string;
    phone?: string;
    emailVerified: boolean;
    phoneVerified: boolean;
    /** With a `returnUrl`: Keycloak's continue URL with a fresh sign-in ticket. */
    continueUrl?: string;
  };
}

export async function signUp(deps: SignUpDeps, input: SignUpInput, ip: string): Promise<SignedUp> {
  const identifier = identifierOf(input);
  const userType = userTypeIssue(await deps.userTypes(), input.userType);
  if (userType) throw new DomainError('VALIDATION_FAILED', 'The sign-up details are not valid', { fields: [userType] });
  await deps.limits.limiter.take({ ip }, deps.limits.perIp);
  // Checked, not consumed: the proof is also the idempotency key, so the identical request repeated
  // after a failure half-way (or a lost answer) completes or replays the one account the proof made;
  // any other request with it is refused as a second use.
  await deps.proofs.check(input.proof, identifier, 'sign-up', 'proof');
  await deps.limits.limiter.take({ ip, identifier: `${identifier.kind}:${identifier.value}` }, deps.limits.perIdentifier);
  const verified = { emailVerified: identifier.kind === 'email', phoneVerified: identifier.kind === 'phone' };
  const account = await deps.accounts
    .create(
      {
        firstName: input.firstName,
        ...(input.lastName !== undefined ? { lastName: input.lastName } : {}),
        userType: input.userType,
        ...(input.email !== undefined ? { email: input.email } : {}),
        ...(input.phone !== undefined ? { phone: input.phone } : {}),
        ...verified,
        password: input.password,
        ...(input.username !== undefined ? { username: input.username } : {}),
        ...(input.channel !== undefined ? { channel: input.channel } : {}),
        ...(input.organisationId !== undefined ? { organisationId: input.organisationId } : {}),
        signUpType: 'self',
        ...(input.language !== undefined ? { locale: input.language } : {}),
      },
      { idempotencyKey: `sign-up:${input.proof}` },
    )
    .catch((err: unknown) => {
      throw isDomainError(err) && err.details.reason === 'idempotency_key_reused' ? proofUsed() : err;
    });
  // Whoever gets here proved the identifier and chose the password: the ticket spares them typing it, nothing more.
  const target = input.returnUrl;
  const ticket = target ? await deps.tickets.mint({ userId: account.userId, tabId: target.tabId }) : undefined;
  return {
    created: account.created,
    account: {
      userId: account.userId,
      username: account.username,
      ...(input.email !== undefined ? { email: input.email } : { phone: input.phone! }),
      ...verified,
      ...(target && ticket ? { continueUrl: continueUrl(deps.keycloak, ticket, target) } : {}),
    },
  };
}

function proofUsed(): DomainError {
  return new DomainError('VALIDATION_FAILED', 'This verification was already used to create an account', {
    fields: [{ field: 'proof', reason: 'used', message: 'Verify your email address or phone number again' }],
  });
}

// ------------------------------------------------------------------------------------- the check

export interface CheckDeps {
  limits: SignUpLimits;
  /** The realm's password policy (accounts/password-policy.ts, read from Keycloak and cached). */
  passwordPolicy: () => Promise<PasswordPolicy>;
  /** The realm's user types (accounts/user-types.ts). */
  userTypes: () => Promise<UserTypeOption[]>;
  checks: NewAccountChecksDeps;
  defaultPhoneCountry: string;
}

/** The identifier the code will go to, as the page shows it (a phone in the one display format). */
export interface CheckedDetails {
  identifier: Identifier & { display: string };
}

/**
 * Every problem with the details at once (VALIDATION_FAILED naming each field), before any code is
 * sent; nothing is created or sent. A field the schema refuses is not checked further; the others
 * are: the username free, the password against the realm's policy, the channel and organisation.
 *
 * Not an account-existence oracle for e-mail addresses and phone numbers: they are checked for form
 * only, never looked up, so the answer is the same whether or not one has an account (decision
 * 0019; only the holder of a proof learns it at creation). The username's availability is told:
 * a username is chosen, not private, it is what people sign in with and show; telling "taken" is what
 * every sign-up form does and what creation tells anyway, and the check is limited per IP like
 * creation, so it gives no more than a slow list of names that exist.
 */
export async function checkDetails(deps: CheckDeps, raw: unknown, ip: string): Promise<CheckedDetails> {
  await deps.limits.limiter.take({ ip }, deps.limits.checksPerIp);
  const issues: FieldIssue[] = [];
  let input: Partial<CheckInput>;
  try {
    input = parseInput(checkBody(deps.defaultPhoneCountry), raw);
  } catch (err) {
    if (!(isDomainError(err) && err.code === 'VALIDATION_FAILED')) throw err;
    issues.push(...err.fields, ...identifierCountIssues(raw, err.fields));
    input = validFields(deps.defaultPhoneCountry, raw, new Set(err.fields.map((f) => f.field)));
  }
  const [username, organisations, policy, userTypes] = await Promise.all([
    input.username === undefined ? null : usernameIssue(deps.checks, input.username),
    organisationIssues(deps.checks, input),
    input.password === undefined ? null : deps.passwordPolicy(),
    input.userType === undefined ? null : deps.userTypes(),
  ]);
  const userType = userTypes && input.userType !== undefined ? userTypeIssue(userTypes, input.userType) : undefined;
  if (userType) issues.push(userType);
  if (username) issues.push(username);
  issues.push(...organisations);
  if (policy && input.password !== undefined) issues.push(...passwordPolicyIssues(policy, input.password, { username: input.username, email: input.email }));
  if (issues.length > 0) throw new DomainError('VALIDATION_FAILED', 'The sign-up details are not valid', { fields: issues });
  const identifier = identifierOf(input);
  return { identifier: { ...identifier, display: identifier.kind === 'phone' ? displayPhone(identifier.value) : identifier.value } };
}

/**
 * "Exactly one of email and phone" for a body refused for other reasons too (the schema's rule then
 * does not run), so that it is told in the same answer. Nothing when either field was refused already.
 */
function identifierCountIssues(raw: unknown, refused: FieldIssue[]): FieldIssue[] {
  if (refused.some((f) => f.field === 'email' || f.field === 'phone')) return [];
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const given = ['email', 'phone'].filter((k) => body[k] !== undefined).length;
  if (given === 1) return [];
  const [reason, message] =
    given === 0 ? ['required', 'Give an email address or a phone number'] : ['one_of', 'Give an email address or a phone number, not both'];
  return ['email', 'phone'].map((field) => ({ field, reason, message }));
}

/** The fields of a refused body that are good on their own (none of `refused`), parsed. */
function validFields(defaultPhoneCountry: string, raw: unknown, refused: Set<string>): Partial<CheckInput> {
  const body = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(checkFields(defaultPhoneCountry))) {
    if (refused.has(name)) continue;
    const parsed = schema.safeParse(body[name]);
    if (parsed.success && parsed.data !== undefined) values[name] = parsed.data;
  }
  return values as Partial<CheckInput>;
}
