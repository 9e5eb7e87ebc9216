import { isE164, parseIdentifier } from '../../accounts/identifiers.ts';
import { DomainError } from '../../kernel/errors.ts';
import { languageOf } from '../../kernel/languages.ts';
import type { Logger } from '../../kernel/logger.ts';
import type { KeyedCode, OtpService, SendResult } from '../../otp/otp-service.ts';
import type { DirectoryUser, IdentityDirectory } from '../../ports/identity-directory.ts';
import type { SmsGateway } from '../../ports/messaging.ts';
import { resetCodeSms } from './messages.ts';

/**
 * "Forgot password" by SMS code (issue 17 §1, decision 0028), asked by Keycloak's
 * platform-reset-credential step (keycloak/providers/.../reset) for a phone number typed on its
 * "Forgot password?" page, or a username whose account has only a proven phone:
 *
 * - `sendResetCode`: a 6-digit code by SMS to the account's phone, read here from Keycloak (Keycloak
 *   never sends a number), only when it is proven (`phoneVerified`), the account enabled, and a typed
 *   phone number is exactly that one. Otherwise nothing is sent, but the request is counted exactly
 *   like a real one and a code stored that nothing matches: the answer and the limits (cooldown, per
 *   login, per IP) are the same whether or not an account uses what was typed.
 * - `verifyResetCode`: the code's check, with the same attempts; Keycloak goes on to the new password
 *   only on `verified`.
 *
 * The OTP service's rules (TTL, 5 wrong tries kill the code, limits, cooldown) are those of sign-up;
 * the limits count the login as typed (`subjectOf`), not the account, so they tell nothing about which
 * logins belong together. No machine: each call is one request.
 */
export interface PasswordResetDeps {
  directory: Pick<IdentityDirectory, 'getUser'>;
  codes: Pick<OtpService, 'sendKeyed' | 'verifyKeyed'>;
  sms: SmsGateway;
  /** Country of phone numbers typed without a country code (ISO 3166 alpha-2). */
  defaultPhoneCountry: string;
  logger: Logger;
}

export interface ResetCodeRequest {
  /** What the person typed on Keycloak's page. */
  login: string;
  /** The account Keycloak found for it, if any. */
  userId?: string | undefined;
  /** Keycloak's locale of the page: the SMS is written in it. */
  language?: string | undefined;
  /** The person's IP as Keycloak saw it (the BFF sees only Keycloak's). */
  ip: string;
}

export interface ResetCodeCheck {
  login: string;
  userId?: string | undefined;
  code: string;
  ip: string;
}

export const RESET_PURPOSE = 'password-reset';

/** The login as typed, read as an e-mail, a phone number (E.164) or a username: what the limits count. */
export function subjectOf(login: string, defaultPhoneCountry: string): string {
  const typed = login.trim();
  const identifier = parseIdentifier(typed, defaultPhoneCountry);
  return identifier ? `${identifier.kind}:${identifier.value}` : `username:${typed.toLowerCase()}`;
}

/** The proven phone of an enabled account, when the login typed may lead to it (a typed number must be that number). */
export function recoveryPhone(user: DirectoryUser | null, subject: string): string | null {
  const phone = user?.attributes.phone?.[0];
  if (!user?.enabled || !phone || !isE164(phone) || user.attributes.phoneVerified?.[0] !== 'true') return null;
  if (subject.startsWith('email:')) return null; // an e-mail typed gets Keycloak's link, never a code
  if (subject.startsWith('phone:') && subject !== `phone:${phone}`) return null;
  return phone;
}

async function codeFor(deps: PasswordResetDeps, login: string, userId: string | undefined, ip: string) {
  const subject = subjectOf(login, deps.defaultPhoneCountry);
  const user = userId ? await deps.directory.getUser(userId) : null;
  const phone = recoveryPhone(user, subject);
  // The code is right only for this account with this phone: a number that moved since is refused.
  const code: KeyedCode = { purpose: RESET_PURPOSE, subject, binding: user && phone ? `${user.id}:${phone}` : '', ip };
  return { code, phone, user };
}

export async function sendResetCode(deps: PasswordResetDeps, request: ResetCodeRequest): Promise<SendResult> {
  const { code, phone, user } = await codeFor(deps, request.login, request.userId, request.ip);
  const language = languageOf(request.language?.split('-')[0]);
  const sent = await deps.codes.sendKeyed({
    ...code,
    deliver: phone ? (value, minutes) => deps.sms.send({ to: phone, text: resetCodeSms(language, value, minutes) }) : null,
  });
  deps.logger.info(
    phone && user ? { event: 'password_reset.code_sent', userId: user.id } : { event: 'password_reset.code_withheld' },
    'password reset code asked for',
  );
  return sent;
}

export async function verifyResetCode(deps: PasswordResetDeps, request: ResetCodeCheck): Promise<{ outcome: 'verified' }> {
  const { code, phone, user } = await codeFor(deps, request.login, request.userId, request.ip);
  const result = await deps.codes.verifyKeyed({ ...code, code: request.code });
  if (result.verified && phone && user) {
    deps.logger.info({ event: 'password_reset.code_verified', userId: user.id }, 'password reset code verified');
    return { outcome: 'verified' };
  }
  // attemptsLeft 0: this code is dead; with retryAfterSeconds, that was the last try and no new code
  // comes before then; without, there was no code (expired, used, never sent).
  const details = result.verified
    ? { attemptsLeft: 0 }
    : { attemptsLeft: result.attemptsLeft, ...(result.retryAfterSeconds ? { retryAfterSeconds: result.retryAfterSeconds } : {}) };
  throw new DomainError('VALIDATION_FAILED', 'The code is wrong or has expired', {
    fields: [{ field: 'code', reason: 'invalid', message: 'The code is wrong or has expired; check it or ask for a new one' }],
    details,
  });
}
