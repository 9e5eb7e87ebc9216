import { CachedRead } from '../kernel/cached-read.ts';
import type { FieldIssue } from '../kernel/errors.ts';

/**
 * The realm's password policy, checked before an account exists (issue 17 §2: the sign-up page tells
 * every rule a password breaks before a code is sent). Keycloak has no Admin API call that checks a
 * password without a user (a `validate-password` endpoint was proposed and declined, keycloak#4229),
 * so the policy is read from the realm at run time (`IdentityDirectory.passwordPolicy`, cached by
 * `RealmPasswordPolicy`) and its rules evaluated here the way Keycloak 26's providers do
 * (server-spi-private `org.keycloak.policy.*PasswordPolicyProvider`): lengths and character classes
 * count UTF-16 units like Java's `String.length()` and `Character.is*`, `notUsername` and `notEmail`
 * compare ignoring case, `notContainsUsername` refuses a password that contains the username
 * ignoring case. Rules that need an account (passwordHistory, expiry, hashing) or data the BFF does
 * not have (passwordBlacklist) are left to Keycloak, which checks the whole policy again when it
 * creates the account.
 */
export interface PasswordPolicy {
  minLength?: number;
  maxLength?: number;
  digits?: number;
  lowerCase?: number;
  upperCase?: number;
  specialChars?: number;
  notUsername?: true;
  notContainsUsername?: true;
  notEmail?: true;
  /** Java regular expressions the whole password must match; those JavaScript cannot read are left to Keycloak. */
  patterns?: RegExp[];
}

/** Keycloak's defaults for a rule written without a value. */
const DEFAULTS = { length: 8, maxLength: 64, digits: 1, lowerCase: 1, upperCase: 1, specialChars: 1 } as const;

/** `length(10) and maxLength(128) and notUsername and ...` as the rules this module checks. */
export function parsePasswordPolicy(text: string): PasswordPolicy {
  const policy: PasswordPolicy = {};
  for (const match of text.matchAll(/([A-Za-z]+)(?:\(([^)]*)\))?/g)) {
    const [, id = '', raw] = match;
    if (id === 'and') continue;
    const number = (fallback: number) => {
      const n = raw === undefined || raw.trim() === '' ? fallback : Number.parseInt(raw, 10);
      return Number.isFinite(n) ? n : fallback;
    };
    switch (id) {
      case 'length':
        policy.minLength = number(DEFAULTS.length);
        break;
      case 'maxLength':
        policy.maxLength = number(DEFAULTS.maxLength);
        break;
      case 'digits':
        policy.digits = number(DEFAULTS.digits);
        break;
      case 'lowerCase':
        policy.lowerCase = number(DEFAULTS.lowerCase);
        break;
      case 'upperCase':
        policy.upperCase = number(DEFAULTS.upperCase);
        break;
      case 'specialChars':
        policy.specialChars = number(DEFAULTS.specialChars);
        break;
      case 'notUsername':
        policy.notUsername = true;
        break;
      case 'notContainsUsername':
        policy.notContainsUsername = true;
        break;
      case 'notEmail':
        policy.notEmail = true;
        break;
      case 'regexPattern':
        try {
          policy.patterns = [...(policy.patterns ?? []), new RegExp(`^(?:${raw ?? ''})$`, 'u')];
        } catch {
          // A Java-only construct: Keycloak alone checks it.
        }
        break;
      default:
      // passwordHistory, forceExpiredPasswordChange, hashAlgorithm, passwordBlacklist, ...: Keycloak's.
    }
  }
  return policy;
}

/** Java's Character.is* on one UTF-16 unit (a lone surrogate is none of them, as in Java). */
const count = (password: string, test: RegExp) => {
  let n = 0;
  for (let i = 0; i < password.length; i++) if (test.test(password[i]!)) n++;
  return n;
};
const DIGIT = /^\p{Nd}$/u;
const LOWER = /^\p{Ll}$/u;
const UPPER = /^\p{Lu}$/u;
const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}]$/u;

/**
 * Every rule of `policy` that `password` breaks, as issues on `field` with a stable reason each:
 * `too_short`, `too_long`, `needs_digits`, `needs_lower_case`, `needs_upper_case`,
 * `needs_special_chars`, `is_username`, `contains_username`, `is_email`, `invalid_format` (a
 * regexPattern). `username`/`email`: those of the account to be (unknown: the rule is not checked).
 */
export function passwordPolicyIssues(
  policy: PasswordPolicy,
  password: string,
  account: { username?: string | undefined; email?: string | undefined },
  field = 'password',
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const issue = (reason: string, message: string) => issues.push({ field, reason, message });
  const { username, email } = account;
  if (policy.minLength !== undefined && password.length < policy.minLength) issue('too_short', `At least ${policy.minLength} characters`);
  if (policy.maxLength !== undefined && password.length > policy.maxLength) issue('too_long', `At most ${policy.maxLength} characters`);
  if (policy.digits !== undefined && count(password, DIGIT) < policy.digits) issue('needs_digits', `At least ${policy.digits} digit(s)`);
  if (policy.lowerCase !== undefined && count(password, LOWER) < policy.lowerCase) {
    issue('needs_lower_case', `At least ${policy.lowerCase} lower-case letter(s)`);
  }
  if (policy.upperCase !== undefined && count(password, UPPER) < policy.upperCase) {
    issue('needs_upper_case', `At least ${policy.upperCase} upper-case letter(s)`);
  }
  if (policy.specialChars !== undefined && password.length - count(password, LETTER_OR_DIGIT) < policy.specialChars) {
    issue('needs_special_chars', `At least ${policy.specialChars} character(s) that are not letters or digits`);
  }
  if (username !== undefined && policy.notUsername && password.toLowerCase() === username.toLowerCase()) {
    issue('is_username', 'Not your username');
  } else if (username !== undefined && policy.notContainsUsername && password.toLowerCase().includes(username.toLowerCase())) {
    issue('contains_username', 'Not containing your username');
  }
  if (email !== undefined && policy.notEmail && password.toLowerCase() === email.toLowerCase()) issue('is_email', 'Not your email address');
  if (policy.patterns?.some((p) => !p.test(password))) issue('invalid_format', 'Does not have the form the password policy asks for');
  return issues;
}

/** The realm's policy, read through `read` (the Admin API) and kept a minute (kernel/cached-read.ts). */
export class RealmPasswordPolicy extends CachedRead<PasswordPolicy> {
  constructor(deps: { read: () => Promise<string>; cacheMs?: number; now?: () => number }) {
    super({ ...deps, read: async () => parsePasswordPolicy(await deps.read()) });
  }
}
