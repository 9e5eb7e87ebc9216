import type { FieldIssue } from '../kernel/errors.ts';

/**
 * The rules of the realm's password policy (realm-config/realms/platform/realm.json `passwordPolicy`)
 * that can be checked before an account exists: `length(10)`, `maxLength(128)`, `notEmail`.
 * Registration answers before it knows whether the e-mail has an account (decision 0019), so it
 * checks these itself, the same way for every address; Keycloak still applies the whole policy when
 * it creates the account. password-rules.test.ts keeps these numbers equal to the realm's.
 */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

/** The issue with `password` for an account with `email`, or null. Lengths count UTF-16 units, as Keycloak's do. */
export function passwordIssue(password: string, email: string | undefined, field = 'password'): FieldIssue | null {
  const message = `Choose a password of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters that is not your email address`;
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) return { field, reason: 'policy', message };
  // Keycloak's notEmail compares ignoring case.
  if (email !== undefined && password.toLowerCase() === email.toLowerCase()) return { field, reason: 'policy', message };
  return null;
}
